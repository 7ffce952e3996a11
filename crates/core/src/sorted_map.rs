//! A small ordered map backed by a sorted `Vec`, used for the engine's per-client state.
//!
//! `std::collections::BTreeMap` is monomorphised per key/value type and its node code is large; in
//! the wasm build the engine's dozen maps cost tens of kilobytes. The maps here are small per client
//! (clients, requests in flight, pending reads/acks: a handful of entries; cached conversations:
//! usually tens, at most `max_conversations`), so a sorted `Vec` with binary search looks up as fast,
//! and the O(n) shift of an insert/remove (a `memmove`, only when a key is new or leaves) is fine.
//! Iteration is in key order, exactly like `BTreeMap`, so behaviour stays deterministic.

use std::borrow::Borrow;

/// An ordered map: entries sorted by key, looked up by binary search. O(n) insert/remove; meant for
/// small maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    pub(crate) const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// `Ok(index)` of `key`, or `Err(index)` where it would be inserted.
    #[inline(never)]
    fn search<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries
            .binary_search_by(|(probe, _)| probe.borrow().cmp(key))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.search(key).is_ok()
    }

    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.search(key).ok().map(|index| &self.entries[index].1)
    }

    pub(crate) fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.search(key).ok().map(|index| &mut self.entries[index].1)
    }

    /// Inserts or replaces; returns the previous value.
    #[inline(never)]
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.search(&key) {
            Ok(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            Err(index) => {
                self.entries.insert(index, (key, value));
                None
            }
        }
    }

    #[inline(never)]
    pub(crate) fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.search(key).ok().map(|index| self.entries.remove(index).1)
    }

    /// The value under `key`, inserted from `make` first if absent.
    #[inline(never)]
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let index = match self.search(&key) {
            Ok(index) => index,
            Err(index) => {
                self.entries.insert(index, (key, make()));
                index
            }
        };
        &mut self.entries[index].1
    }

    /// The value under `key`, `value` inserted first if absent. One copy per map type, where
    /// [`get_or_insert_with`](Self::get_or_insert_with) has one per closure: for cheap values.
    #[inline(never)]
    pub(crate) fn get_or_insert(&mut self, key: K, value: V) -> &mut V {
        let index = match self.search(&key) {
            Ok(index) => index,
            Err(index) => {
                self.entries.insert(index, (key, value));
                index
            }
        };
        &mut self.entries[index].1
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(key, value)| keep(key, value));
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, value)| value)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, value)| value)
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::SortedMap;

    #[test]
    fn iterates_in_key_order_and_replaces_like_btreemap() {
        let mut map = SortedMap::new();
        assert_eq!(map.insert("b".to_owned(), 2), None);
        assert_eq!(map.insert("c".to_owned(), 3), None);
        assert_eq!(map.insert("a".to_owned(), 1), None);
        assert_eq!(map.insert("b".to_owned(), 20), Some(2));
        let keys: Vec<&str> = map.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(map.get("b"), Some(&20));
        assert_eq!(map.remove("a"), Some(1));
        assert!(!map.contains_key("a"));
        *map.get_or_insert_with("d".to_owned(), || 0) += 4;
        *map.get_or_insert_with("c".to_owned(), || 0) += 4;
        map.retain(|_, value| *value != 20);
        let entries: Vec<(String, i32)> = map.into_iter().collect();
        assert_eq!(entries, [("c".to_owned(), 7), ("d".to_owned(), 4)]);
    }

    #[test]
    fn get_or_insert_keeps_an_existing_value() {
        let mut map = SortedMap::new();
        *map.get_or_insert("b".to_owned(), 1) += 10;
        *map.get_or_insert("b".to_owned(), 100) += 10;
        *map.get_or_insert("a".to_owned(), 5) += 0;
        let entries: Vec<(String, i32)> = map.into_iter().collect();
        assert_eq!(entries, [("a".to_owned(), 5), ("b".to_owned(), 21)]);
    }
}
