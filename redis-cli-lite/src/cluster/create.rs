//! `--cluster create`: slots split evenly over the masters, replicas spread over hosts
//! (anti-affinity), then ADDSLOTS, REPLICATE, SET-CONFIG-EPOCH, MEET, a wait for agreement,
//! REPLICATE again, and the check — redis-cli 7.0.15's steps and words.

use std::collections::HashMap;

use super::node::SLOTS;
use super::{Manager, Node};

/// Anti-affinity score of the planned layout: 10000 per master sharing a host with one of its
/// replicas, 1 per replica sharing a host with another replica of the same master. Also the
/// offending replicas (one per offending group).
fn anti_affinity(m: &Manager, groups: &[Vec<usize>]) -> (u64, Vec<usize>) {
    let mut score = 0u64;
    let mut offenders = Vec::new();
    for group in groups {
        // Master id -> "m" then one "s" per replica on this host (insertion ordered).
        let mut related: Vec<(String, String)> = Vec::new();
        for &i in group {
            let n = &m.nodes[i];
            let key = n.replicate.clone().unwrap_or_else(|| n.name.clone());
            let pos = related.iter().position(|(k, _)| *k == key);
            let types = match pos {
                Some(p) => &mut related[p].1,
                None => {
                    related.push((key, String::new()));
                    let last = related.len() - 1;
                    &mut related[last].1
                }
            };
            if n.replicate.is_some() {
                types.push('s');
            } else {
                types.insert(0, 'm');
            }
        }
        let ip = group
            .first()
            .map(|&i| m.nodes[i].ip.clone())
            .unwrap_or_default();
        for (name, types) in &related {
            if types.len() < 2 {
                continue;
            }
            score += if types.starts_with('m') {
                10000 * (types.len() as u64 - 1)
            } else {
                types.len() as u64
            };
            if let Some(o) = m
                .nodes
                .iter()
                .position(|n| n.replicate.as_deref() == Some(name.as_str()) && n.ip == ip)
            {
                offenders.push(o);
            }
        }
    }
    (score, offenders)
}

/// Random swaps of replicas' masters that do not make the score worse (redis-cli's optimizer:
/// 500 tries per node).
fn optimize_anti_affinity(m: &mut Manager, groups: &[Vec<usize>]) {
    let (score, _) = anti_affinity(m, groups);
    if score == 0 {
        return;
    }
    m.log
        .info(">>> Trying to optimize slaves allocation for anti-affinity\n");
    let mut maxiter = 500 * m.nodes.len();
    while maxiter > 0 {
        let (score, offenders) = anti_affinity(m, groups);
        if score == 0 || offenders.is_empty() {
            break;
        }
        let first = offenders[fastrand::usize(..offenders.len())];
        let others: Vec<usize> = (0..m.nodes.len())
            .filter(|&i| i != first && m.nodes[i].replicate.is_some())
            .collect();
        if others.is_empty() {
            break;
        }
        let second = others[fastrand::usize(..others.len())];
        let (a, b) = (
            m.nodes[first].replicate.clone(),
            m.nodes[second].replicate.clone(),
        );
        m.nodes[first].replicate = b.clone();
        m.nodes[second].replicate = a.clone();
        m.nodes[first].dirty = true;
        m.nodes[second].dirty = true;
        let (new_score, _) = anti_affinity(m, groups);
        if new_score > score {
            m.nodes[first].replicate = a;
            m.nodes[second].replicate = b;
        }
        maxiter -= 1;
    }
    let (score, _) = anti_affinity(m, groups);
    if score == 0 {
        m.log.ok("[OK] Perfect anti-affinity obtained!\n");
    } else if score >= 10000 {
        m.log
            .warn("[WARNING] Some slaves are in the same host as their master\n");
    } else {
        m.log
            .warn("[WARNING] Some slaves of the same master are in the same host\n");
    }
}

/// Sends a node its planned configuration: REPLICATE for a replica, ADDSLOTS (every slot as
/// its own argument) for a master. A replica's failure keeps it dirty for a later retry.
fn flush_node_config(m: &mut Manager, i: usize) -> Result<(), Option<String>> {
    if !m.nodes[i].dirty {
        return Err(None);
    }
    if let Some(master) = m.nodes[i].replicate.clone() {
        m.command(i, &["CLUSTER", "REPLICATE", &master])?;
    } else {
        let mut args: Vec<Vec<u8>> = vec![b"CLUSTER".to_vec(), b"ADDSLOTS".to_vec()];
        args.extend(
            (0..SLOTS)
                .filter(|&s| m.nodes[i].slots[s])
                .map(|s| s.to_string().into_bytes()),
        );
        m.command_bytes(i, &args)?;
    }
    m.nodes[i].dirty = false;
    Ok(())
}

/// `--cluster create host1:port1 ... hostN:portN`.
pub fn create(m: &mut Manager, argv: &[String]) -> bool {
    for addr in argv {
        let addr = addr.rsplit_once('@').map_or(addr.as_str(), |(a, _)| a);
        let Some((ip, port)) = addr.rsplit_once(':') else {
            m.log.flush();
            eprintln!("Invalid address format: {addr}");
            return false;
        };
        m.nodes.push(Node::new(ip, super::atoi(port).unwrap_or(0)));
        let i = m.nodes.len() - 1;
        if !m.connect(i) {
            return false;
        }
        if let Err(e) = m.node_is_cluster(i) {
            m.not_cluster_error(i, e);
            return false;
        }
        if let Err(e) = m.node_load_info(i, false) {
            if let Some(e) = e {
                m.reply_error(i, &e);
            }
            return false;
        }
        match m.node_is_empty(i) {
            Ok(true) => {}
            Ok(false) => {
                m.not_empty_error(i, None);
                return false;
            }
            Err(e) => {
                m.not_empty_error(i, Some(e));
                return false;
            }
        }
    }
    let node_len = m.nodes.len();
    let replicas = m.opts.replicas;
    let masters_count = node_len / (replicas + 1);
    if masters_count < 3 {
        m.log.err(&format!(
            "*** ERROR: Invalid configuration for cluster creation.\n*** Redis Cluster requires at least 3 master nodes.\n*** This is not possible with {node_len} nodes and {replicas} replicas per node."
        ));
        m.log.err(&format!(
            "\n*** At least {} nodes are required.\n",
            3 * (replicas + 1)
        ));
        return false;
    }
    m.log.info(&format!(
        ">>> Performing hash slots allocation on {node_len} nodes...\n"
    ));
    // Nodes grouped by host, in first-seen host order, then interleaved one per host.
    let mut hosts: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_host: HashMap<String, usize> = HashMap::new();
    for i in 0..node_len {
        let ip = m.nodes[i].ip.clone();
        let g = *by_host.entry(ip.clone()).or_insert_with(|| {
            hosts.push(ip);
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let mut queues: Vec<std::collections::VecDeque<usize>> =
        groups.iter().map(|g| g.iter().copied().collect()).collect();
    let mut interleaved: Vec<usize> = Vec::with_capacity(node_len);
    while interleaved.len() < node_len {
        for q in &mut queues {
            if let Some(n) = q.pop_front() {
                interleaved.push(n);
            }
        }
    }
    let masters: Vec<usize> = interleaved[..masters_count].to_vec();
    let mut rest: Vec<Option<usize>> = interleaved[masters_count..]
        .iter()
        .map(|&n| Some(n))
        .collect();
    let slots_per_node = SLOTS as f32 / masters_count as f32;
    let mut first: usize = 0;
    let mut cursor: f32 = 0.0;
    for (k, &master) in masters.iter().enumerate() {
        let mut last = (cursor + slots_per_node - 1.0).round() as usize;
        if last > SLOTS || k == masters_count - 1 {
            last = SLOTS - 1;
        }
        last = last.max(first);
        m.log
            .plain(&format!("Master[{k}] -> Slots {first} - {last}\n"));
        for s in first..=last {
            m.nodes[master].add_slot(s);
        }
        m.nodes[master].dirty = true;
        first = last + 1;
        cursor += slots_per_node;
    }
    // redis-cli rotates the replica candidates by one before assigning them.
    if !rest.is_empty() {
        rest.rotate_left(1);
    }
    let mut base = 0usize;
    let mut available = rest.len();
    let mut assign_unused = false;
    loop {
        for &master in &masters {
            let mut assigned = 0;
            while assigned < replicas {
                if available == 0 {
                    break;
                }
                let mut found = None;
                let mut first_idx = None;
                for (j, candidate) in rest.iter_mut().enumerate().skip(base) {
                    let Some(n) = *candidate else { continue };
                    if m.nodes[n].ip != m.nodes[master].ip {
                        found = Some(n);
                        *candidate = None;
                        break;
                    }
                    if first_idx.is_none() {
                        first_idx = Some(j);
                    }
                }
                let slave = match (found, first_idx) {
                    (Some(n), _) => n,
                    (None, Some(j)) => {
                        let Some(n) = rest[j] else { break };
                        base = j + 1;
                        n
                    }
                    (None, None) => break,
                };
                assigned += 1;
                available -= 1;
                m.nodes[slave].replicate = Some(m.nodes[master].name.clone());
                m.nodes[slave].dirty = true;
                let line = format!(
                    "Adding replica {}:{} to {}:{}\n",
                    m.nodes[slave].ip,
                    m.nodes[slave].port,
                    m.nodes[master].ip,
                    m.nodes[master].port
                );
                m.log.plain(&line);
                if assign_unused {
                    break;
                }
            }
        }
        if !assign_unused && available > 0 {
            assign_unused = true;
            m.log.plain("Adding extra replicas...\n");
            continue;
        }
        break;
    }
    optimize_anti_affinity(m, &groups);
    m.show_nodes();
    if !m.confirm("Can I set the above configuration?", false) {
        return true;
    }
    for i in 0..node_len {
        if let Err(e) = flush_node_config(m, i) {
            if m.nodes[i].dirty && m.nodes[i].replicate.is_none() {
                if let Some(e) = e {
                    m.reply_error(i, &e);
                }
                return false;
            }
        }
    }
    m.log.info(">>> Nodes configuration updated\n");
    m.log
        .info(">>> Assign a different config epoch to each node\n");
    for i in 0..node_len {
        let _ = m.command(i, &["cluster", "set-config-epoch", &(i + 1).to_string()]);
    }
    m.log
        .info(">>> Sending CLUSTER MEET messages to join the cluster\n");
    let (first_ip, first_port, first_bus) =
        (m.nodes[0].ip.clone(), m.nodes[0].port, m.nodes[0].bus_port);
    for i in 1..node_len {
        let port = first_port.to_string();
        let bus = first_bus.to_string();
        let mut args = vec!["cluster", "meet", first_ip.as_str(), port.as_str()];
        if first_bus != 0 && u32::from(first_bus) != u32::from(first_port) + 10000 {
            args.push(bus.as_str());
        }
        match m.command(i, &args) {
            Ok(_) => {}
            Err(Some(e)) => {
                m.reply_error(i, &e);
                return false;
            }
            Err(None) => {
                m.log.flush();
                eprintln!("Failed to send CLUSTER MEET command.");
                return false;
            }
        }
    }
    m.log.flush();
    // A second for the join to start, or every node would agree on being alone.
    std::thread::sleep(std::time::Duration::from_secs(1));
    m.wait_for_cluster_join();
    for i in 0..node_len {
        if !m.nodes[i].dirty {
            continue;
        }
        if let Err(e) = flush_node_config(m, i) {
            if m.nodes[i].replicate.is_none() {
                if let Some(e) = e {
                    m.reply_error(i, &e);
                }
                return false;
            }
        }
    }
    let entry = Node::new(&first_ip, first_port);
    m.nodes.clear();
    if !m.load_from_node(entry) {
        return false;
    }
    m.check_cluster(false);
    true
}
