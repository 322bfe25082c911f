//! Terminal-only additions: the masters table after `info`/`check`, the progress bar and the
//! closing summary of `reshard`/`rebalance`. None of it is written when stdout is not a
//! terminal, so piped output stays redis-cli's.

use std::time::{Duration, Instant};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressStyle};

use super::log::Log;

/// One master in the summary table.
pub struct MasterRow {
    /// `ip:port`.
    pub address: String,
    /// First 8 characters of the id.
    pub id: String,
    /// Number of slots.
    pub slots: usize,
    /// Slot ranges as redis-cli prints them.
    pub ranges: String,
    /// DBSIZE.
    pub keys: i64,
    /// Replicas.
    pub replicas: usize,
}

/// The masters table (with a total row).
pub fn masters_table(rows: &[MasterRow]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(vec!["master", "id", "slots", "ranges", "keys", "replicas"]);
    for r in rows {
        table.add_row(vec![
            Cell::new(&r.address),
            Cell::new(&r.id),
            Cell::new(r.slots).set_alignment(CellAlignment::Right),
            Cell::new(&r.ranges),
            Cell::new(r.keys).set_alignment(CellAlignment::Right),
            Cell::new(r.replicas).set_alignment(CellAlignment::Right),
        ]);
    }
    let slots: usize = rows.iter().map(|r| r.slots).sum();
    let keys: i64 = rows.iter().map(|r| r.keys).sum();
    let replicas: usize = rows.iter().map(|r| r.replicas).sum();
    table.add_row(vec![
        Cell::new(format!("{} masters", rows.len())),
        Cell::new(""),
        Cell::new(slots).set_alignment(CellAlignment::Right),
        Cell::new(""),
        Cell::new(keys).set_alignment(CellAlignment::Right),
        Cell::new(replicas).set_alignment(CellAlignment::Right),
    ]);
    format!("{table}\n")
}

/// Progress of a run of slot moves: a bar on a terminal, and totals for the summary.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    slots: u64,
    keys: u64,
}

impl Progress {
    /// A bar of `len` steps when `tty`.
    pub fn new(tty: bool, len: u64, unit: &str) -> Progress {
        let bar = tty.then(|| {
            let bar = ProgressBar::new(len);
            let template = format!("{{bar:50}} {{pos}}/{{len}} {unit}, {{msg}} keys, {{elapsed}}");
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style.progress_chars("#>-"));
            }
            bar.set_message("0");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            slots: 0,
            keys: 0,
        }
    }

    /// Totals without a bar.
    pub fn totals_only() -> Progress {
        Progress::new(false, 0, "")
    }

    /// One slot done, with `keys` keys.
    pub fn advance(&mut self, keys: usize) {
        self.slots += 1;
        self.keys += keys as u64;
        if let Some(bar) = &self.bar {
            bar.set_message(self.keys.to_string());
            bar.inc(1);
        }
    }

    /// Removes the bar (the caller prints what follows).
    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Leaves the bar where it stopped (a move failed).
    pub fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }

    /// Ends the run: on a terminal, the bar goes and a summary line is printed.
    pub fn finish(&mut self, log: &mut Log, what: &str) {
        self.clear();
        if log.tty {
            let secs = self.started.elapsed().as_secs_f64();
            log.ok(&format!(
                "[OK] Moved {} slots ({} keys) {what} in {secs:.1}s.\n",
                self.slots, self.keys
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_master_and_a_total() {
        let rows = [
            MasterRow {
                address: "127.0.0.1:7000".into(),
                id: "5dba85f3".into(),
                slots: 5461,
                ranges: "[0-5460]".into(),
                keys: 10,
                replicas: 1,
            },
            MasterRow {
                address: "127.0.0.1:7001".into(),
                id: "716bb21c".into(),
                slots: 10923,
                ranges: "[5461-16383]".into(),
                keys: 5,
                replicas: 0,
            },
        ];
        let t = masters_table(&rows);
        assert!(t.contains("127.0.0.1:7001"));
        assert!(t.contains("[5461-16383]"));
        assert!(t.contains("2 masters"));
        assert!(t.contains("16384"));
        assert!(t.contains("15"));
    }
}
