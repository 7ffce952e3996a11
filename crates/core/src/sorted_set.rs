//! A small ordered set backed by a sorted `Vec`: conversation members, the engine's sets of
//! conversation ids and the de-duplication memory.
//!
//! Same reasoning as [`SortedMap`](crate::sorted_map::SortedMap): `std::collections::BTreeSet` brings
//! B-tree node code into the wasm build (about 10 KB for the `String` sets alone), while these sets
//! are small (members of a conversation; conversations waiting for a fetch; at most
//! `dedup_capacity` message ids), so binary search over a `Vec` looks up as fast and an insert or
//! remove costs one `memmove`. Iteration is in order, exactly like `BTreeSet`.

use std::borrow::Borrow;

/// An ordered set of distinct values, looked up by binary search. O(n) insert/remove; meant for small
/// sets. Iterates (and dereferences to a slice) in ascending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedSet<T> {
    items: Vec<T>,
}

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<T: Ord> SortedSet<T> {
    /// An empty set.
    pub const fn new() -> Self {
        Self { items: Vec::new() }
    }

    /// `Ok(index)` of `value`, or `Err(index)` where it would be inserted.
    #[inline(never)]
    fn search<Q: Ord + ?Sized>(&self, value: &Q) -> Result<usize, usize>
    where
        T: Borrow<Q>,
    {
        self.items.binary_search_by(|probe| probe.borrow().cmp(value))
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `value` is in the set.
    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.search(value).is_ok()
    }

    /// Adds `value`; `false` if it was already there (the set is unchanged then).
    #[inline(never)]
    pub fn insert(&mut self, value: T) -> bool {
        match self.search(&value) {
            Ok(_) => false,
            Err(index) => {
                self.items.insert(index, value);
                true
            }
        }
    }

    /// Removes `value`; `false` if it was not there.
    #[inline(never)]
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        match self.search(value) {
            Ok(index) => {
                self.items.remove(index);
                true
            }
            Err(_) => false,
        }
    }

    /// The values in ascending order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The values in ascending order, as a slice.
    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
}

impl<T: Ord> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Self {
        let mut items: Vec<T> = values.into_iter().collect();
        // Unstable is enough: the duplicates it may reorder are equal and `dedup` drops them. Every
        // sorted list of client ids in the crate is made here, so the wasm build has one sort of
        // `String`s.
        items.sort_unstable();
        items.dedup();
        Self { items }
    }
}

impl<T: Ord> Extend<T> for SortedSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for value in values {
            self.insert(value);
        }
    }
}

impl<T> IntoIterator for SortedSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T> From<SortedSet<T>> for Vec<T> {
    fn from(set: SortedSet<T>) -> Self {
        set.items
    }
}

#[cfg(test)]
mod tests {
    use super::SortedSet;

    #[test]
    fn keeps_distinct_values_in_order_like_btreeset() {
        let mut set: SortedSet<String> = ["c", "a", "c", "b"].into_iter().map(str::to_owned).collect();
        assert_eq!(set.as_slice(), ["a", "b", "c"]);
        assert!(!set.insert("b".to_owned()));
        assert!(set.insert("ab".to_owned()));
        assert!(set.contains("ab"));
        assert!(set.remove("a"));
        assert!(!set.remove("a"));
        assert!(!set.contains("a"));
        set.extend(["d".to_owned(), "b".to_owned()]);
        assert_eq!(set.len(), 4);
        let values: Vec<&String> = set.iter().collect();
        assert_eq!(values, ["ab", "b", "c", "d"]);
        assert_eq!(Vec::from(set), ["ab", "b", "c", "d"]);
    }
}
