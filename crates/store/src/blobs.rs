//! Content-addressed blobs: a file's name is the sha256 of its bytes.
//!
//! Writes go to a temp file in the same directory tree, are fsynced, renamed into place and the
//! directory fsynced: after a crash a blob is either absent or complete, never half written.
//! This is the one interface every blob goes through, so encryption at rest can be added here.

use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// sha256 hex of a blob's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn of(bytes: &[u8]) -> BlobKey {
        BlobKey(hex::encode(Sha256::digest(bytes)))
    }

    /// Accepts only a 64-character lowercase hex string (a key never becomes a path otherwise).
    pub fn parse(s: &str) -> Option<BlobKey> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| BlobKey(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn open(root: &Path) -> io::Result<BlobStore> {
        fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore {
            root: root.to_owned(),
        })
    }

    pub fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(&key.0[..2]).join(&key.0)
    }

    pub fn contains(&self, key: &BlobKey) -> bool {
        self.path(key).is_file()
    }

    /// Stores `bytes` and returns their key. Storing the same bytes twice is a no-op.
    pub fn put(&self, bytes: &[u8]) -> io::Result<BlobKey> {
        let key = BlobKey::of(bytes);
        let dest = self.path(&key);
        if fs::metadata(&dest)
            .map(|m| m.len() == bytes.len() as u64)
            .unwrap_or(false)
        {
            return Ok(key);
        }
        let dir = dest.parent().expect("blob path has a parent");
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        sync_dir(dir)?;
        Ok(key)
    }

    /// A temp file holding `bytes`, in the blob store's own temp dir (deleted when dropped), for
    /// handing a file to a decoder process before it is accepted.
    pub fn scratch_file(&self, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(bytes)?;
        tmp.flush()?;
        Ok(tmp)
    }

    /// A fresh path in the temp dir for a decoder to write to (the caller removes it).
    pub fn scratch_path(&self) -> io::Result<PathBuf> {
        let tmp = tempfile::Builder::new()
            .prefix("out-")
            .tempfile_in(self.root.join("tmp"))?;
        let (_, path) = tmp.keep().map_err(|e| e.error)?;
        Ok(path)
    }

    /// A temp dir for a decoder's page images (deleted when dropped).
    pub fn scratch_dir(&self) -> io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("pages-")
            .tempdir_in(self.root.join("tmp"))
    }

    /// Stores the file at `path` (moved in if it is on the same filesystem, else copied).
    pub fn put_file(&self, path: &Path) -> io::Result<BlobKey> {
        let bytes = fs::read(path)?;
        self.put(&bytes)
    }

    /// Reads a blob and checks that its bytes still hash to its key.
    pub fn get(&self, key: &BlobKey) -> io::Result<Vec<u8>> {
        let bytes = fs::read(self.path(key))?;
        if BlobKey::of(&bytes) != *key {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("blob {key} is damaged: its bytes no longer match its sha256"),
            ));
        }
        Ok(bytes)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_content_addressed_idempotent_and_checked_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let key = store.put(b"hello").unwrap();
        assert_eq!(
            key.as_str(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.put(b"hello").unwrap(), key);
        assert_eq!(store.get(&key).unwrap(), b"hello");
        // No temp files are left behind.
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);

        fs::write(store.path(&key), b"HELLO").unwrap();
        let err = store.get(&key).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn keys_are_validated_before_becoming_paths() {
        assert!(BlobKey::parse("../../etc/passwd").is_none());
        assert!(BlobKey::parse(&"A".repeat(64)).is_none());
        assert!(BlobKey::parse(&"a".repeat(64)).is_some());
    }
}
