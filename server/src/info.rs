//! INFO: the sections redis-server 7.0 prints, with the fields tools read.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::node::Node;

/// Every section, in the order redis-server 7.0.15 prints them.
const ORDER: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Sections left out of INFO / INFO default (INFO all / everything print them).
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Resident set size from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (ticks(12), ticks(11))
}

fn wanted(args: &[Bytes]) -> Vec<String> {
    let names: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .collect();
    let default = || {
        ORDER
            .iter()
            .filter(|s| !NOT_DEFAULT.contains(s))
            .map(|s| s.to_string())
    };
    if names.is_empty() {
        return default().collect();
    }
    let mut out: Vec<String> = Vec::new();
    for n in names {
        match n.as_str() {
            "default" => out.extend(default()),
            "all" | "everything" => out.extend(ORDER.iter().map(|s| s.to_string())),
            other => out.push(other.to_string()),
        }
    }
    // Redis prints each section once, in its own order.
    ORDER
        .iter()
        .filter(|s| out.iter().any(|o| o == *s))
        .map(|s| s.to_string())
        .collect()
}

/// The INFO text for the requested sections.
pub fn render(node: &Node, args: &[Bytes]) -> String {
    let mut out = String::new();
    for (i, section) in wanted(args).iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        section_text(node, section, &mut out);
    }
    out
}

/// uname's system name, release and machine, as Redis prints them (`Linux 6.1.0 x86_64`).
fn os_name() -> String {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
            .map(|v| v.trim().to_owned())
            .ok()
    };
    match (read("ostype"), read("osrelease")) {
        (Some(sys), Some(rel)) => format!("{sys} {rel} {}", std::env::consts::ARCH),
        _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// MemTotal of /proc/meminfo in bytes (0 where unavailable).
fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The `# Memory` section with every field 7.0.15 prints. This server measures only its
/// resident size: used memory, peak and the allocator figures are that size (as Redis
/// reports them with an allocator that gives no statistics), and there is no Lua, function,
/// AOF or separately counted client memory, so those are 0.
fn memory_section(node: &Node, maxmemory: u64, rss: u64, o: &mut String) -> std::fmt::Result {
    let policy = node.config.get_text("maxmemory-policy").map_or_else(
        || "noeviction".into(),
        |v| String::from_utf8_lossy(&v).into_owned(),
    );
    let system = total_system_memory();
    write!(
        o,
        "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{h}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{h}\r\nused_memory_peak:{rss}\r\nused_memory_peak_human:{h}\r\nused_memory_peak_perc:100.00%\r\nused_memory_overhead:0\r\nused_memory_startup:0\r\nused_memory_dataset:{rss}\r\nused_memory_dataset_perc:100.00%\r\nallocator_allocated:{rss}\r\nallocator_active:{rss}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:{maxmemory}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{policy}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:1.00\r\nmem_fragmentation_bytes:0\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
        human(system),
        human(maxmemory),
        h = human(rss),
    )
}

fn section_text(node: &Node, name: &str, o: &mut String) {
    let cfg = node.config.current();
    let now = crate::keyspace::now_ms();
    let uptime = node.started.elapsed().as_secs();
    let stats = &node.stats;
    let mut hits = 0;
    let mut misses = 0;
    let mut expired = 0;
    for db in node.keyspace.dbs() {
        let s = db.stats();
        hits += s.hits;
        misses += s.misses;
        expired += s.expired;
    }
    let rss = rss_bytes();
    let _ = match name {
        "server" => write!(
            o,
            "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:{}\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nrust_node_version:{}\r\n",
            crate::VERSION,
            if cfg.cluster_enabled { "cluster" } else { "standalone" },
            os_name(),
            std::process::id(),
            node.run_id,
            cfg.port,
            now * 1000,
            uptime,
            uptime / 86400,
            cfg.hz,
            cfg.hz,
            crate::keyspace::lru_clock(now),
            std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            cfg.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            env!("CARGO_PKG_VERSION"),
        ),
        "clients" => write!(
            o,
            "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
            crate::replication::connected_clients(node),
            cfg.maxclients,
            node.blocking.blocked_clients()
        ),
        "memory" => memory_section(node, cfg.maxmemory, rss, o),
        "persistence" => {
            o.push_str(&node.persistence.info(node));
            Ok(())
        }
        "stats" => write!(
            o,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\n{}expired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:{}\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
            stats.connections.load(Ordering::Relaxed),
            stats.commands.load(Ordering::Relaxed),
            stats.net_input.load(Ordering::Relaxed),
            stats.net_output.load(Ordering::Relaxed),
            stats.rejected.load(Ordering::Relaxed),
            crate::replication::sync_stats_info(node),
            expired,
            hits,
            misses,
            node.pubsub.channel_count(),
            node.pubsub.pattern_count(),
            node.pubsub.shard_channel_count(),
            node.migrate.len(),
            stats.errors.load(Ordering::Relaxed),
        ),
        "replication" => {
            crate::replication::render_info(node, o);
            Ok(())
        }
        "cpu" => {
            let (sys, user) = cpu_seconds();
            write!(
                o,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
            )
        }
        "modules" => write!(o, "# Modules\r\n"),
        "errorstats" => {
            let _ = write!(o, "# Errorstats\r\n");
            for (k, v) in node.stats.error_kinds.lock().iter() {
                let _ = write!(o, "errorstat_{k}:count={v}\r\n");
            }
            Ok(())
        }
        "cluster" => write!(o, "# Cluster\r\ncluster_enabled:{}\r\n", u8::from(cfg.cluster_enabled)),
        "keyspace" => {
            let _ = write!(o, "# Keyspace\r\n");
            for (i, db) in node.keyspace.dbs().iter().enumerate() {
                let keys = db.len();
                if keys > 0 {
                    let _ = write!(o, "db{i}:keys={keys},expires={},avg_ttl=0\r\n", db.volatile());
                }
            }
            Ok(())
        }
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            crate::commands::cmdstats::render_commandstats(o, node.commands.with_ids().into_iter());
            Ok(())
        }
        "latencystats" => {
            o.push_str("# Latencystats\r\n");
            crate::commands::cmdstats::render_latencystats(o, node.commands.with_ids().into_iter());
            Ok(())
        }
        _ => Ok(()),
    };
}
