//! `cargo xtask cluster-status`: one table of a running cluster (ours or redis-server's).
//!
//! It asks one node (`--port`, or the first node that answers among cluster-up's directories
//! in `--dir`) for CLUSTER NODES and CLUSTER INFO, then every node listed for DBSIZE, and
//! prints id, address, role, master, slots, keys, link state and config epoch per node, then
//! the entry node's `cluster_state`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use crate::resp::{Conn, Reply};

/// Options of `cargo xtask cluster-status`.
#[derive(Args)]
pub struct StatusArgs {
    /// Port of a node to ask (on 127.0.0.1); overrides --dir.
    #[arg(long)]
    port: Option<u16>,
    /// The directory cluster-up used (one sub-directory per node port).
    #[arg(long, default_value = "target/cluster")]
    dir: PathBuf,
    /// Host of the node given by --port.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

/// How long a node has to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One command's text reply.
fn text(c: &mut Conn, args: &[&str]) -> Result<String, String> {
    c.call(args)?.text().map(str::to_owned)
}

/// One line of CLUSTER NODES.
#[derive(Debug, PartialEq)]
pub struct NodeLine {
    /// Node id.
    pub id: String,
    /// `ip:port` (bus port and hostname dropped).
    pub addr: String,
    /// Flags, `myself` included.
    pub flags: Vec<String>,
    /// Master id or `-`.
    pub master: String,
    /// Config epoch.
    pub epoch: String,
    /// `connected` / `disconnected`.
    pub link: String,
    /// Slot tokens (ranges and open-slot markers).
    pub slots: Vec<String>,
}

/// Parses CLUSTER NODES text (nodes.conf's `vars` line and blank lines skipped).
pub fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with("vars "))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            if f.len() < 8 {
                return None;
            }
            let addr = f[1].split(['@', ',']).next().unwrap_or(f[1]).to_owned();
            Some(NodeLine {
                id: f[0].to_owned(),
                addr,
                flags: f[2].split(',').map(str::to_owned).collect(),
                master: f[3].to_owned(),
                epoch: f[6].to_owned(),
                link: f[7].to_owned(),
                slots: f[8..]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| (*s).to_owned())
                    .collect(),
            })
        })
        .collect()
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Number of slots in the tokens (open-slot markers not counted).
fn slot_count(tokens: &[String]) -> usize {
    tokens
        .iter()
        .filter(|t| !t.starts_with('['))
        .map(|t| match t.split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => usize::from(t.parse::<usize>().is_ok()),
        })
        .sum()
}

/// The status table. `keys` maps node ids to DBSIZE (absent: unreachable).
pub fn render(nodes: &[NodeLine], keys: &HashMap<String, i64>, cluster_state: &str) -> String {
    let mut sorted: Vec<&NodeLine> = nodes.iter().collect();
    // Masters by first slot, each followed by its replicas; then slot-less masters.
    let first_slot = |n: &NodeLine| {
        n.slots
            .iter()
            .find(|t| !t.starts_with('['))
            .and_then(|t| t.split('-').next()?.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    };
    let master_of = |n: &NodeLine| -> String {
        if n.master == "-" {
            n.id.clone()
        } else {
            n.master.clone()
        }
    };
    let order: HashMap<String, usize> = nodes
        .iter()
        .filter(|n| n.master == "-")
        .map(|n| (n.id.clone(), first_slot(n)))
        .collect();
    sorted.sort_by_key(|n| {
        let m = master_of(n);
        (
            *order.get(&m).unwrap_or(&usize::MAX),
            m,
            n.master != "-",
            n.addr.clone(),
        )
    });
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "id", "address", "role", "master", "slots", "#slots", "keys", "link", "epoch",
    ]);
    let (mut masters, mut replicas, mut total_keys) = (0, 0, 0i64);
    for n in sorted {
        let is_replica = n.flags.iter().any(|f| f == "slave");
        let mut role = if is_replica {
            "replica".to_owned()
        } else {
            "master".to_owned()
        };
        let extra: Vec<&str> = n
            .flags
            .iter()
            .map(String::as_str)
            .filter(|f| !matches!(*f, "master" | "slave" | "myself"))
            .collect();
        if !extra.is_empty() {
            role = format!("{role} ({})", extra.join(","));
        }
        if n.flags.iter().any(|f| f == "myself") {
            role.push_str(" *");
        }
        if is_replica {
            replicas += 1;
        } else {
            masters += 1;
        }
        let k = keys.get(&n.id).copied();
        if !is_replica {
            total_keys += k.unwrap_or(0);
        }
        table.add_row(vec![
            Cell::new(short(&n.id)),
            Cell::new(&n.addr),
            Cell::new(role),
            Cell::new(if n.master == "-" {
                "-"
            } else {
                short(&n.master)
            }),
            Cell::new(n.slots.join(" ")),
            Cell::new(slot_count(&n.slots)).set_alignment(CellAlignment::Right),
            Cell::new(k.map_or("?".to_owned(), |k| k.to_string()))
                .set_alignment(CellAlignment::Right),
            Cell::new(&n.link),
            Cell::new(&n.epoch).set_alignment(CellAlignment::Right),
        ]);
    }
    format!(
        "{table}\ncluster_state:{cluster_state}  {masters} masters, {replicas} replicas, {total_keys} keys in masters (* = node asked)\n"
    )
}

/// The ports of cluster-up's node directories, ascending.
fn ports_in(dir: &PathBuf) -> Result<Vec<u16>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut ports: Vec<u16> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ports.sort_unstable();
    Ok(ports)
}

/// `cargo xtask cluster-status`.
pub fn run(a: &StatusArgs) -> Result<(), String> {
    let (host, mut entry) = match a.port {
        Some(p) => (a.host.clone(), Conn::open(&a.host, p, TIMEOUT)?),
        None => {
            let ports = ports_in(&a.dir)?;
            let found = ports
                .iter()
                .find_map(|&p| Conn::open("127.0.0.1", p, TIMEOUT).ok());
            let node = found.ok_or_else(|| {
                format!(
                    "no node answers among the ports in {} ({ports:?})",
                    a.dir.display()
                )
            })?;
            ("127.0.0.1".to_owned(), node)
        }
    };
    let nodes_text = text(&mut entry, &["CLUSTER", "NODES"])?;
    let info = text(&mut entry, &["CLUSTER", "INFO"])?;
    let state = info
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("cluster_state:"))
        .unwrap_or("?")
        .to_owned();
    let nodes = parse_nodes(&nodes_text);
    let mut keys = HashMap::new();
    for n in &nodes {
        let (ip, port) = n.addr.rsplit_once(':').unwrap_or((&n.addr, "0"));
        let ip = if ip.is_empty() { host.as_str() } else { ip };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if let Ok(mut c) = Conn::open(ip, port, TIMEOUT) {
            if let Ok(Reply::Int(k)) = c.call(&["DBSIZE"]) {
                keys.insert(n.id.clone(), k);
            }
        }
    }
    print!("{}", render(&nodes, &keys, &state));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATE: &str = include_str!("../tests/fixtures/late-7200.nodes.conf");

    #[test]
    fn parses_a_captured_nodes_file() {
        let nodes = parse_nodes(LATE);
        assert_eq!(nodes.len(), 6);
        assert_eq!(nodes[0].addr, "127.0.0.1:7202");
        assert_eq!(nodes[0].slots, ["5465-6826", "12288-16383"]);
        assert_eq!(slot_count(&nodes[0].slots), 1362 + 4096);
        assert_eq!(nodes[1].master, "716bb21c368489c8653cb4951ae57db0872a6dd3");
    }

    #[test]
    fn table_shows_every_node_grouped_under_its_master() {
        let nodes = parse_nodes(LATE);
        let mut keys = HashMap::new();
        keys.insert("5dba85f3ae295babb55fe51752a706eab4baf135".to_owned(), 79);
        keys.insert("8cef8968f1ad6edeaf8a2499c67cfda7a473652b".to_owned(), 74);
        let out = render(&nodes, &keys, "ok");
        let rows: Vec<&str> = out.lines().filter(|l| l.contains("127.0.0.1:")).collect();
        assert_eq!(rows.len(), 6);
        // 7200 (slots from 0) first, then its replica 7203, then 7202 (5465) and 7205, ...
        let order: Vec<&str> = rows
            .iter()
            .map(|r| {
                r.split("127.0.0.1:")
                    .nth(1)
                    .unwrap_or("")
                    .get(..4)
                    .unwrap_or("")
            })
            .collect();
        assert_eq!(order, ["7200", "7203", "7202", "7205", "7201", "7204"]);
        assert!(rows[0].contains("5dba85f3") && rows[0].contains("master *"));
        assert!(rows[0].contains("0-5464") && rows[0].contains("5465") && rows[0].contains("79"));
        assert!(rows[1].contains("replica") && rows[1].contains("5dba85f3"));
        assert!(rows[4].contains('?'), "unreachable keys shown as ?");
        assert!(out.contains("cluster_state:ok  3 masters, 3 replicas, 153 keys in masters"));
    }

    #[test]
    fn bad_lines_are_skipped() {
        assert!(parse_nodes("garbage\n\nx y z\n").is_empty());
        let one = parse_nodes("id 1.2.3.4:5@6 master,fail - 0 0 7 disconnected [3->-x] 9-2 q\n");
        assert_eq!(one.len(), 1);
        assert_eq!(slot_count(&one[0].slots), 0);
        let out = render(&one, &HashMap::new(), "fail");
        assert!(out.contains("master (fail)") && out.contains("disconnected"));
    }
}
