//! The smaller subcommands: check, fix (through check), info, add-node, del-node, call,
//! set-timeout.

use super::view::masters_table;
use super::{host_from_args, Manager, Node, INVALID_HOST_ARG};

fn entry_node(argv: &[String]) -> Option<Node> {
    match host_from_args(argv) {
        Some((ip, port)) => Some(Node::new(&ip, port)),
        None => {
            eprint!("{INVALID_HOST_ARG}");
            None
        }
    }
}

impl Manager {
    /// On a terminal, the masters table of the last per-master summary.
    fn print_table(&mut self) {
        if self.log.tty && !self.summary_rows.is_empty() {
            let table = masters_table(&self.summary_rows);
            self.log.plain(&table);
        }
    }

    /// The master with fewest replicas (the first of equals).
    fn master_with_least_replicas(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in self.masters() {
            if best.is_none_or(|b| self.nodes[i].replicas_count < self.nodes[b].replicas_count) {
                best = Some(i);
            }
        }
        best
    }
}

/// `--cluster check host:port` (and `fix`).
pub fn check(m: &mut Manager, argv: &[String]) -> bool {
    let Some(entry) = entry_node(argv) else {
        return false;
    };
    if !m.load_from_node(entry) {
        return false;
    }
    // redis-cli ignores a failed summary here and goes on with the check.
    m.show_cluster_info();
    let ok = m.check_cluster(false);
    m.print_table();
    ok
}

/// `--cluster info host:port`.
pub fn info(m: &mut Manager, argv: &[String]) -> bool {
    let Some(entry) = entry_node(argv) else {
        return false;
    };
    if !m.load_from_node(entry) {
        return false;
    }
    m.show_cluster_info();
    m.print_table();
    true
}

/// `--cluster add-node new_host:new_port existing_host:existing_port`.
pub fn add_node(m: &mut Manager, argv: &[String]) -> bool {
    let (Some((ref_ip, ref_port)), Some((ip, port))) = (
        host_from_args(argv.get(1..).unwrap_or(&[])),
        host_from_args(argv.get(..1).unwrap_or(&[])),
    ) else {
        eprint!("{INVALID_HOST_ARG}");
        return false;
    };
    m.log.info(&format!(
        ">>> Adding node {ip}:{port} to cluster {ref_ip}:{ref_port}\n"
    ));
    if !m.load_from_node(Node::new(&ref_ip, ref_port)) || !m.check_cluster(false) {
        return false;
    }
    let mut master = None;
    if m.opts.replica {
        match m.opts.master_id.clone() {
            Some(id) => match m.by_name(&id.to_ascii_lowercase()) {
                Some(n) => master = Some(n),
                None => {
                    m.log.err(&format!("[ERR] No such master ID {id}\n"));
                    return false;
                }
            },
            None => {
                let Some(n) = m.master_with_least_replicas() else {
                    return false;
                };
                let line = format!(
                    "Automatically selected master {}:{}\n",
                    m.nodes[n].ip, m.nodes[n].port
                );
                m.log.plain(&line);
                master = Some(n);
            }
        }
    }
    m.nodes.push(Node::new(&ip, port));
    let new = m.nodes.len() - 1;
    if m.nodes[new].link.is_none() {
        match super::Link::connect(
            &ip,
            port,
            m.opts.user.as_deref(),
            m.opts.password.as_deref(),
        ) {
            Ok(link) => m.nodes[new].link = Some(link),
            Err(_) => {
                m.log
                    .err(&format!("[ERR] Sorry, can't connect to node {ip}:{port}\n"));
                return false;
            }
        }
    }
    if let Err(e) = m.node_is_cluster(new) {
        m.not_cluster_error(new, e);
        return false;
    }
    if let Err(e) = m.node_load_info(new, false) {
        if let Some(e) = e {
            m.reply_error(new, &e);
        }
        return false;
    }
    match m.node_is_empty(new) {
        Ok(true) => {}
        Ok(false) => {
            m.not_empty_error(new, None);
            return false;
        }
        Err(e) => {
            m.not_empty_error(new, Some(e));
            return false;
        }
    }
    if master.is_none() && !copy_functions(m, new, &ip, port) {
        return false;
    }
    m.log.info(&format!(
        ">>> Send CLUSTER MEET to node {ip}:{port} to make it join the cluster.\n"
    ));
    let (first_ip, first_port, first_bus) =
        (m.nodes[0].ip.clone(), m.nodes[0].port, m.nodes[0].bus_port);
    let port_text = first_port.to_string();
    let bus_text = first_bus.to_string();
    let mut meet = vec!["CLUSTER", "MEET", first_ip.as_str(), port_text.as_str()];
    if first_bus != 0 && u32::from(first_bus) != u32::from(first_port) + 10000 {
        meet.push(bus_text.as_str());
    }
    let r = m.command(new, &meet);
    if !m.check_reply(new, &r) {
        return false;
    }
    if let Some(master) = master {
        m.log.flush();
        std::thread::sleep(std::time::Duration::from_secs(1));
        m.wait_for_cluster_join();
        let line = format!(
            ">>> Configure node as replica of {}:{}.\n",
            m.nodes[master].ip, m.nodes[master].port
        );
        m.log.info(&line);
        let id = m.nodes[master].name.clone();
        let r = m.command(new, &["CLUSTER", "REPLICATE", &id]);
        if !m.check_reply(new, &r) {
            return false;
        }
    }
    m.log.ok("[OK] New node added correctly.\n");
    true
}

/// A new master gets the cluster's functions: FUNCTION DUMP from the entry node, FUNCTION
/// LIST (must be empty) and FUNCTION RESTORE on the new node.
fn copy_functions(m: &mut Manager, new: usize, ip: &str, port: u16) -> bool {
    m.log.info(">>> Getting functions from cluster\n");
    let dump = match m.command(0, &["FUNCTION", "DUMP"]) {
        Ok(resp_proto::Frame::Bulk(b)) => b.to_vec(),
        Ok(_) => {
            m.log.info(">>> Failed retrieving Functions from the cluster, skip this step as Redis version do not support function command (error = 'NULL reply')\n");
            return true;
        }
        Err(e) => {
            let e = e.unwrap_or_else(|| "NULL reply".to_owned());
            m.log.info(&format!(">>> Failed retrieving Functions from the cluster, skip this step as Redis version do not support function command (error = '{e}')\n"));
            return true;
        }
    };
    m.log.info(&format!(
        ">>> Send FUNCTION LIST to {ip}:{port} to verify there is no functions in it\n"
    ));
    match m.command(new, &["FUNCTION", "LIST"]) {
        Ok(resp_proto::Frame::Array(list)) if list.is_empty() => {}
        Ok(_) => {
            m.log.err(">>> New node already contains functions and can not be added to the cluster. Use FUNCTION FLUSH and try again.\r\n");
            return false;
        }
        Err(e) => {
            let e = e.unwrap_or_else(|| "NULL reply".to_owned());
            m.log
                .err(&format!(">>> Failed on CLUSTER LIST (error = '{e}')\r\n"));
            return false;
        }
    }
    m.log
        .info(&format!(">>> Send FUNCTION RESTORE to {ip}:{port}\n"));
    if let Err(e) = m.command_bytes(new, &[b"FUNCTION".to_vec(), b"RESTORE".to_vec(), dump]) {
        let e = e.unwrap_or_else(|| "NULL reply".to_owned());
        m.log.err(&format!(
            ">>> Failed loading functions to the new node (error = '{e}')\r\n"
        ));
        return false;
    }
    true
}

/// `--cluster del-node host:port node_id`.
pub fn del_node(m: &mut Manager, argv: &[String]) -> bool {
    let Some(entry) = entry_node(argv.get(..1).unwrap_or(&[])) else {
        return false;
    };
    let node_id = argv.get(1).cloned().unwrap_or_default();
    m.log.info(&format!(
        ">>> Removing node {node_id} from cluster {}:{}\n",
        entry.ip, entry.port
    ));
    if !m.load_from_node(entry) {
        return false;
    }
    let Some(node) = m.by_name(&node_id.to_ascii_lowercase()) else {
        m.log.err(&format!("[ERR] No such node ID {node_id}\n"));
        return false;
    };
    if m.nodes[node].slots_count != 0 {
        let line = format!(
            "[ERR] Node {}:{} is not empty! Reshard data away and try again.\n",
            m.nodes[node].ip, m.nodes[node].port
        );
        m.log.err(&line);
        return false;
    }
    m.log
        .info(">>> Sending CLUSTER FORGET messages to the cluster...\n");
    let id = m.nodes[node].name.clone();
    for n in 0..m.nodes.len() {
        if n == node {
            continue;
        }
        if m.nodes[n]
            .replicate
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&node_id))
        {
            let Some(master) = m.master_with_least_replicas() else {
                return false;
            };
            let line = format!(
                ">>> {}:{} as replica of {}:{}\n",
                m.nodes[n].ip, m.nodes[n].port, m.nodes[master].ip, m.nodes[master].port
            );
            m.log.info(&line);
            let master_id = m.nodes[master].name.clone();
            let r = m.command(n, &["CLUSTER", "REPLICATE", &master_id]);
            if !m.check_reply(n, &r) {
                return false;
            }
        }
        let r = m.command(n, &["CLUSTER", "FORGET", &id]);
        if !m.check_reply(n, &r) {
            return false;
        }
    }
    m.log
        .info(">>> Sending CLUSTER RESET SOFT to the deleted node.\n");
    let r = m.command(node, &["CLUSTER", "RESET", "SOFT"]);
    m.check_reply(node, &r)
}

/// `--cluster call host:port command arg ...`: the command on every node, replies raw.
pub fn call(m: &mut Manager, argv: &[String]) -> bool {
    let Some(entry) = entry_node(argv.get(..1).unwrap_or(&[])) else {
        return false;
    };
    if !m.load_from_node(entry) {
        return false;
    }
    let command: Vec<Vec<u8>> = argv.iter().skip(1).map(|a| a.as_bytes().to_vec()).collect();
    m.log.info(">>> Calling");
    let args: String = argv.iter().skip(1).map(|a| format!(" {a}")).collect();
    m.log.plain(&format!("{args}\n"));
    for i in 0..m.nodes.len() {
        let slave = m.nodes[i].is_slave();
        if (m.opts.only_masters && slave) || (m.opts.only_replicas && !slave) {
            continue;
        }
        if m.nodes[i].link.is_none() && !m.connect(i) {
            continue;
        }
        let addr = format!("{}:{}", m.nodes[i].ip, m.nodes[i].port);
        let reply = m.nodes[i].link.as_mut().map(|l| l.call(&command));
        match reply {
            Some(Ok(frame)) => {
                let mut out = Vec::new();
                crate::format::raw(&frame, &mut out);
                m.log
                    .plain(&format!("{addr}: {}\n", String::from_utf8_lossy(&out)));
            }
            _ => m.log.plain(&format!("{addr}: Failed!\n")),
        }
    }
    true
}

/// `--cluster set-timeout host:port milliseconds`.
pub fn set_timeout(m: &mut Manager, argv: &[String]) -> bool {
    let Some(entry) = entry_node(argv.get(..1).unwrap_or(&[])) else {
        return false;
    };
    let timeout: i64 = argv
        .get(1)
        .map(|t| {
            let digits: String = t
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            digits.parse().unwrap_or(0)
        })
        .unwrap_or(0);
    if timeout < 100 {
        m.log.flush();
        eprintln!("Setting a node timeout of less than 100 milliseconds is a bad idea.");
        return false;
    }
    if !m.load_from_node(entry) {
        return false;
    }
    m.log
        .info(">>> Reconfiguring node timeout in every cluster node...\n");
    let (mut ok, mut failed) = (0, 0);
    let t = timeout.to_string();
    for i in 0..m.nodes.len() {
        let res = m
            .command(i, &["CONFIG", "SET", "cluster-node-timeout", &t])
            .and_then(|_| m.command(i, &["CONFIG", "REWRITE"]));
        let n = format!("{}:{}", m.nodes[i].ip, m.nodes[i].port);
        match res {
            Ok(_) => {
                m.log.warn(&format!("*** New timeout set for {n}\n"));
                ok += 1;
            }
            Err(e) => {
                let e = e.unwrap_or_default();
                m.log
                    .err(&format!("ERR setting node-timeout for {n}: {e}\n"));
                failed += 1;
            }
        }
    }
    m.log.info(&format!(
        ">>> New node timeout set. {ok} OK, {failed} ERR.\n"
    ));
    true
}
