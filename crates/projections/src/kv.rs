//! The small key-value surface the read models need, so that the same fold
//! and the same queries run over sled (live) and over memory (as-of).

use std::collections::BTreeMap;

use crate::ProjectionError;

/// Reading a key-value view in key order.
pub trait KvRead {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError>;
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError>;
}

/// A view held in memory: what an as-of question is answered from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemKv(pub BTreeMap<String, Vec<u8>>);

impl KvRead for MemKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        Ok(self.0.get(key).cloned())
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        Ok(self
            .0
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl KvRead for sled::Tree {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        Ok(sled::Tree::get(self, key.as_bytes())?.map(|v| v.to_vec()))
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        self.scan_prefix(prefix.as_bytes())
            .map(|r| {
                let (k, v) = r?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }
}

/// Pending writes over a base view: reads see them first. Flushed to sled
/// as one batch together with the checkpoint.
pub struct Overlay<'a, R: KvRead + ?Sized> {
    base: &'a R,
    pub(crate) writes: BTreeMap<String, Vec<u8>>,
}

impl<'a, R: KvRead + ?Sized> Overlay<'a, R> {
    pub fn new(base: &'a R) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
        }
    }

    pub fn put(&mut self, key: String, value: Vec<u8>) {
        self.writes.insert(key, value);
    }

    pub fn take(&mut self) -> BTreeMap<String, Vec<u8>> {
        std::mem::take(&mut self.writes)
    }
}

impl<R: KvRead + ?Sized> KvRead for Overlay<'_, R> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        match self.writes.get(key) {
            Some(v) => Ok(Some(v.clone())),
            None => self.base.get(key),
        }
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        let mut merged: BTreeMap<String, Vec<u8>> = self.base.scan(prefix)?.into_iter().collect();
        for (k, v) in self
            .writes
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            merged.insert(k.clone(), v.clone());
        }
        Ok(merged.into_iter().collect())
    }
}
