//! The small key-value surface the read models need, so that the same fold
//! and the same queries run over sled (live) and over memory (as-of).

use std::collections::BTreeMap;

use crate::ProjectionError;

/// Key-value pairs in key order.
pub type Pairs = Vec<(String, Vec<u8>)>;

/// Reading a key-value view in key order.
pub trait KvRead {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError>;
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError>;

    /// At most `limit` pairs under `prefix` whose key, after the prefix,
    /// sorts after `after` (from the first when `None`), in key order: one
    /// page of a long list.
    fn scan_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        Ok(self
            .scan(prefix)?
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| &k[prefix.len()..] > a))
            .take(limit)
            .collect())
    }

    /// The last `n` pairs under `prefix`, in key order.
    fn scan_last(&self, prefix: &str, n: usize) -> Result<Pairs, ProjectionError> {
        let mut all = self.scan(prefix)?;
        let total = all.len();
        Ok(all.split_off(total.saturating_sub(n)))
    }
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

fn owned(r: sled::Result<(sled::IVec, sled::IVec)>) -> Result<(String, Vec<u8>), ProjectionError> {
    let (k, v) = r?;
    Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
}

impl KvRead for sled::Tree {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        Ok(sled::Tree::get(self, key.as_bytes())?.map(|v| v.to_vec()))
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        self.scan_prefix(prefix.as_bytes()).map(owned).collect()
    }

    fn scan_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        let from = match after {
            // The first key after `prefix + after`: that key with a 0 byte appended.
            Some(a) => format!("{prefix}{a}\0"),
            None => prefix.to_owned(),
        };
        self.range(from.as_bytes()..)
            .take_while(|r| {
                r.as_ref()
                    .map_or(true, |(k, _)| k.starts_with(prefix.as_bytes()))
            })
            .take(limit)
            .map(owned)
            .collect()
    }

    fn scan_last(&self, prefix: &str, n: usize) -> Result<Pairs, ProjectionError> {
        let mut tail = self
            .scan_prefix(prefix.as_bytes())
            .rev()
            .take(n)
            .map(owned)
            .collect::<Result<Vec<_>, _>>()?;
        tail.reverse();
        Ok(tail)
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
        get_through(self.base, &self.writes, key)
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        scan_through(self.base, &self.writes, prefix)
    }

    fn scan_last(&self, prefix: &str, n: usize) -> Result<Pairs, ProjectionError> {
        scan_last_through(self.base, &self.writes, prefix, n)
    }
}

/// `key` from pending `writes`, else from `base`.
pub(crate) fn get_through(
    base: &(impl KvRead + ?Sized),
    writes: &BTreeMap<String, Vec<u8>>,
    key: &str,
) -> Result<Option<Vec<u8>>, ProjectionError> {
    match writes.get(key) {
        Some(v) => Ok(Some(v.clone())),
        None => base.get(key),
    }
}

/// Every pair under `prefix` of `base` with pending `writes` over it.
pub(crate) fn scan_through(
    base: &(impl KvRead + ?Sized),
    writes: &BTreeMap<String, Vec<u8>>,
    prefix: &str,
) -> Result<Pairs, ProjectionError> {
    Ok(merged_with(base.scan(prefix)?, writes, prefix)
        .into_iter()
        .collect())
}

/// The last `n` pairs under `prefix` of `base` with pending `writes` over
/// it. Writes only add or replace keys, so a key of `base` among the
/// merged last `n` is among `base`'s own last `n`: those and the writes
/// under the prefix hold the answer, never the whole list.
pub(crate) fn scan_last_through(
    base: &(impl KvRead + ?Sized),
    writes: &BTreeMap<String, Vec<u8>>,
    prefix: &str,
    n: usize,
) -> Result<Pairs, ProjectionError> {
    let mut all: Pairs = merged_with(base.scan_last(prefix, n)?, writes, prefix)
        .into_iter()
        .collect();
    Ok(all.split_off(all.len().saturating_sub(n)))
}

/// `pairs` read from a base, with the pending `writes` under `prefix` over
/// them.
fn merged_with(
    pairs: Pairs,
    writes: &BTreeMap<String, Vec<u8>>,
    prefix: &str,
) -> BTreeMap<String, Vec<u8>> {
    let mut merged: BTreeMap<String, Vec<u8>> = pairs.into_iter().collect();
    for (k, v) in writes
        .range(prefix.to_owned()..)
        .take_while(|(k, _)| k.starts_with(prefix))
    {
        merged.insert(k.clone(), v.clone());
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sled's own paging and tail agree with the plain reading over the
    /// whole list, at every cursor and size, and never cross the prefix.
    #[test]
    fn pages_and_tails_read_the_same_from_sled_and_memory() {
        let tree = sled::Config::new()
            .temporary(true)
            .open()
            .unwrap()
            .open_tree("t")
            .unwrap();
        let mut mem = MemKv::default();
        let keys = [
            "o/a/1", "o/a/10", "o/a/2", "o/a/2/x", "o/ab/1", "o/b", "o/a", "p/a/1",
        ];
        for (i, k) in keys.iter().enumerate() {
            tree.insert(k.as_bytes(), vec![i as u8]).unwrap();
            mem.0.insert((*k).to_owned(), vec![i as u8]);
        }
        let prefix = "o/a/";
        let whole = mem.scan(prefix).unwrap();
        assert_eq!(whole.len(), 4);
        for limit in 1..6 {
            let mut after: Option<String> = None;
            let mut read = Vec::new();
            loop {
                let page = tree.scan_page(prefix, after.as_deref(), limit).unwrap();
                let plain = KvRead::scan_page(&mem, prefix, after.as_deref(), limit).unwrap();
                assert_eq!(page, plain);
                if page.is_empty() {
                    break;
                }
                after = Some(page.last().unwrap().0[prefix.len()..].to_owned());
                read.extend(page);
            }
            assert_eq!(read, whole, "limit {limit}");
        }
        for n in 0..6 {
            let tail = tree.scan_last(prefix, n).unwrap();
            assert_eq!(tail, mem.scan_last(prefix, n).unwrap());
            assert_eq!(tail, whole[4 - n.min(4)..]);
        }
        // Pending writes over the tree — a key added at the end, one in
        // the middle, one replaced, one beside the prefix: the tail read
        // through them is the tail of the whole merged list.
        let mut overlay = Overlay::new(&tree);
        for (k, v) in [("o/a/3", 9u8), ("o/a/11", 8), ("o/a/10", 7), ("o/ab/2", 6)] {
            overlay.put(k.to_owned(), vec![v]);
        }
        let merged = overlay.scan(prefix).unwrap();
        assert_eq!(merged.len(), 6);
        for n in 0..8 {
            assert_eq!(
                overlay.scan_last(prefix, n).unwrap(),
                merged[6 - n.min(6)..],
                "last {n}"
            );
        }
    }
}
