//! Where the store keeps the kommuner's signing keys.
//!
//! Each key's 32-byte secret seed is one file, `<dir>/<kommun>/<key id>.ed25519`
//! (hex), created with mode 0600 from its first byte and never rewritten. The
//! store signs with whichever key the kommun's history has in force, so a
//! rotation that fails to be recorded leaves the old key in force and the new
//! file unused: no state on disk can make a history unverifiable.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::SigningKey;

use crate::chain::key_id;
use crate::{KommunId, StoreError};

/// The signing keys of every kommun this node writes for.
#[derive(Debug)]
pub struct KeyStore {
    /// `None`: keys live in memory only (one process, tests and benches).
    dir: Option<PathBuf>,
    cache: Mutex<HashMap<(KommunId, String), SigningKey>>,
}

fn key_error(path: &Path, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Key {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

impl KeyStore {
    /// Keys kept as files under `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        KeyStore {
            dir: Some(dir.into()),
            cache: Mutex::default(),
        }
    }

    /// Keys kept in this process's memory only.
    pub fn in_memory() -> Self {
        KeyStore {
            dir: None,
            cache: Mutex::default(),
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path(&self, kommun: &KommunId, kid: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(kommun.as_str()).join(format!("{kid}.ed25519")))
    }

    /// The secret key with this id, if this node holds it.
    pub fn get(&self, kommun: &KommunId, kid: &str) -> Result<Option<SigningKey>, StoreError> {
        let cache_key = (kommun.clone(), kid.to_owned());
        if let Some(k) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cache_key)
        {
            return Ok(Some(k.clone()));
        }
        let Some(path) = self.path(kommun, kid) else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(key_error(&path, e)),
        };
        let seed: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| key_error(&path, "inte ett 32 bytes hex-frö"))?;
        let key = SigningKey::from_bytes(&seed);
        if key_id(&key.verifying_key()) != kid {
            return Err(key_error(&path, "nyckeln stämmer inte med filens namn"));
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cache_key, key.clone());
        Ok(Some(key))
    }

    /// A new key for the kommun, written (0600, never overwriting) before it
    /// is returned, so it exists on disk before anything is signed with it.
    pub fn create(&self, kommun: &KommunId) -> Result<SigningKey, StoreError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| StoreError::Key {
            path: "getrandom".into(),
            detail: e.to_string(),
        })?;
        let key = SigningKey::from_bytes(&seed);
        let kid = key_id(&key.verifying_key());
        if let Some(path) = self.path(kommun, &kid) {
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| key_error(dir, e))?;
            write_secret(&path, hex::encode(key.to_bytes()).as_bytes())?;
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((kommun.clone(), kid), key.clone());
        Ok(key)
    }
}

/// Writes a new file readable by its owner only, from its first byte.
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| key_error(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| key_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyStore::in_dir(dir.path());
        let k = KommunId::new("vimmerby").unwrap();
        let key = keys.create(&k).unwrap();
        let kid = key_id(&key.verifying_key());
        let path = dir.path().join("vimmerby").join(format!("{kid}.ed25519"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let fresh = KeyStore::in_dir(dir.path());
        assert_eq!(
            fresh.get(&k, &kid).unwrap().unwrap().to_bytes(),
            key.to_bytes()
        );
        assert!(fresh.get(&k, "0000000000000000").unwrap().is_none());
        // Never overwritten.
        assert!(write_secret(&path, b"x").is_err());
    }
}
