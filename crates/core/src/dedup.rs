//! Bounded memory of received message ids, for de-duplication.
//!
//! Duplicates arrive when a push and the gap-filling history overlap after a reconnect, or when a
//! server re-delivers. The set is bounded: the oldest ids are forgotten first, which is safe because
//! gap filling starts from the newest message seen, so old ids never come back in practice.

use std::collections::VecDeque;

use crate::sorted_set::SortedSet;

/// The last `capacity` ids seen.
#[derive(Clone, Debug)]
pub(crate) struct SeenIds {
    order: VecDeque<String>,
    set: SortedSet<String>,
    capacity: usize,
}

impl SeenIds {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::new(),
            set: SortedSet::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; `false` if it was already known.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let mut seen = SeenIds::new(2);
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(seen.insert("c"));
        assert!(!seen.contains("a"));
        assert!(seen.contains("b") && seen.contains("c"));
        assert_eq!(seen.len(), 2);
    }
}
