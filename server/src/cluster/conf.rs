//! nodes.conf on disk: locked against a second node, loaded at start, replaced atomically.
//!
//! Redis 7.0 rewrites the file in place and keeps an `flock` on it. Here every save goes
//! to a temporary file that is locked *before* it is renamed over nodes.conf, so the inode
//! at the path is always one we hold locked: a second node (ours or a real redis-server)
//! pointed at the same file is refused exactly as by Redis, and a crash mid-write leaves
//! the previous file intact.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// Why nodes.conf could not be opened, locked or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfFileError {
    /// Another process holds the lock.
    #[error("Sorry, the cluster configuration file {0} is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files.")]
    Locked(String),
    /// An I/O error (the text is strerror-like).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The locked nodes.conf of this node.
#[derive(Debug)]
pub struct NodesConfFile {
    path: PathBuf,
    /// Holds the lock on the inode currently at `path`.
    held: File,
}

fn lock(file: &File, shown: &Path) -> Result<(), ConfFileError> {
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            Err(ConfFileError::Locked(shown.display().to_string()))
        }
        Err(e) => Err(ConfFileError::Io(e.into())),
    }
}

impl NodesConfFile {
    /// Opens (creating it empty if missing) and locks `path`; returns the file and its
    /// current content (empty for a new node).
    pub fn open(path: &Path) -> Result<(NodesConfFile, Vec<u8>), ConfFileError> {
        let held = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        lock(&held, path)?;
        let bytes = std::fs::read(path)?;
        Ok((
            NodesConfFile {
                path: path.to_path_buf(),
                held,
            },
            bytes,
        ))
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file with `bytes`: temporary file, locked, written, fsynced, renamed
    /// over the old one; the directory is fsynced when `fsync_dir` (Redis fsyncs the
    /// epoch-related writes).
    pub fn save(&mut self, bytes: &[u8], fsync_dir: bool) -> Result<(), ConfFileError> {
        let mut tmp_name = self.path.as_os_str().to_owned();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp_name);
        let result = self.write_and_rename(&tmp, bytes, fsync_dir);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn write_and_rename(
        &mut self,
        tmp: &Path,
        bytes: &[u8],
        fsync_dir: bool,
    ) -> Result<(), ConfFileError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        lock(&f, tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(tmp, &self.path)?;
        // The new inode is locked by `f`; the old one's lock goes with the old handle.
        self.held = f;
        if fsync_dir {
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nodesconf-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn second_opener_is_refused_even_after_saves() {
        let d = temp_dir("lock");
        let p = d.join("nodes.conf");
        let (mut f, bytes) = NodesConfFile::open(&p).unwrap();
        assert!(bytes.is_empty());
        f.save(b"one\n", true).unwrap();
        f.save(b"two\n", false).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two\n");
        let err = NodesConfFile::open(&p).unwrap_err();
        assert!(err
            .to_string()
            .contains("is already used by a different Redis Cluster node"));
        drop(f);
        let (_g, bytes) = NodesConfFile::open(&p).unwrap();
        assert_eq!(bytes, b"two\n");
        let _ = std::fs::remove_dir_all(&d);
    }
}
