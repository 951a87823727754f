//! Persistent collections for the parts of a [`BilateralState`](super::BilateralState) that grow
//! with a dyad's history: [`SharedVec`] and [`SharedMap`].
//!
//! A clone of either is O(1) (a reference count is incremented), and a change to a clone copies
//! only the O(log n) small nodes on the path to what changed: the two versions share the rest.
//! That is what lets a state be cloned for free and many snapshots of one dyad be kept alive at
//! the cost of their differences (docs/architecture.md, "The state's collections").
//!
//! They read like `Vec` and `BTreeMap` (`len`, `iter`, `get`, indexing, `push`, `insert`,
//! `get_mut`), compare, print (`{:?}`) and serialize exactly like them, and convert from them.
//!
//! Behind them are `imbl`'s `Vector` and `OrdMap` (an RRB tree and a B-tree whose nodes hold
//! their entries inline), each value behind an `Arc`: a node copied on write then copies
//! pointers, never the values themselves (a round, an item and its history), and a value
//! changed in a clone is copied alone. `imbl` stays out of the public API.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;
use std::sync::Arc;

use imbl::shared_ptr::DefaultSharedPtr;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
/// A persistent vector: a `Vec` whose clones share structure. Appends at the end; reads by
/// index or in order.
///
/// Compares, prints and serializes like the `Vec` of its elements (a JSON array).
///
/// ```
/// use detente::domain::SharedVec;
///
/// let mut before: SharedVec<u32> = vec![1, 2].into();
/// let mut after = before.clone(); // O(1): nothing is copied
/// after.push(3);
/// assert_eq!(before, vec![1, 2]);
/// assert_eq!(after, [1, 2, 3]);
/// assert_eq!((after.len(), after[2], after.last()), (3, 3, Some(&3)));
/// if let Some(first) = before.get_mut(0) {
///     *first = 10; // copies the element and the path to it, not the vector
/// }
/// assert_eq!(format!("{before:?} {after:?}"), "[10, 2] [1, 2, 3]");
/// assert_eq!(serde_json::to_string(&after)?, "[1,2,3]");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub struct SharedVec<T> {
    inner: imbl::Vector<Arc<T>>,
}

impl<T> SharedVec<T> {
    /// An empty vector.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let empty: SharedVec<u32> = SharedVec::new();
    /// assert!(empty.is_empty());
    /// ```
    pub fn new() -> SharedVec<T> {
        SharedVec {
            inner: imbl::Vector::new(),
        }
    }

    /// The number of elements.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = vec![1, 2, 3].into();
    /// assert_eq!(numbers.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether there is no element.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let mut numbers = SharedVec::new();
    /// assert!(numbers.is_empty());
    /// numbers.push(1);
    /// assert!(!numbers.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The element at `index`, if there is one.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = vec![1, 2].into();
    /// assert_eq!((numbers.get(1), numbers.get(2)), (Some(&2), None));
    /// ```
    pub fn get(&self, index: usize) -> Option<&T> {
        self.inner.get(index).map(|value| &**value)
    }

    /// The first element.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = vec![1, 2].into();
    /// assert_eq!(numbers.first(), Some(&1));
    /// assert_eq!(SharedVec::<u32>::new().first(), None);
    /// ```
    pub fn first(&self) -> Option<&T> {
        self.inner.front().map(|value| &**value)
    }

    /// The last element.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = vec![1, 2].into();
    /// assert_eq!(numbers.last(), Some(&2));
    /// ```
    pub fn last(&self) -> Option<&T> {
        self.inner.back().map(|value| &**value)
    }

    /// The elements, in order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = (0..100).collect::<Vec<_>>().into();
    /// assert_eq!(numbers.iter().sum::<u32>(), 4950);
    /// assert_eq!(numbers.iter().rev().next(), Some(&99));
    /// ```
    pub fn iter(&self) -> SharedVecIter<'_, T> {
        SharedVecIter {
            chunks: self.inner.leaves(),
            front: [].iter(),
            back: [].iter(),
            remaining: self.inner.len(),
        }
    }

    /// Whether `value` is one of the elements.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = vec![1, 2].into();
    /// assert!(numbers.contains(&2) && !numbers.contains(&3));
    /// ```
    pub fn contains(&self, value: &T) -> bool
    where
        T: PartialEq,
    {
        self.iter().any(|element| element == value)
    }

    /// Appends `value`.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let mut numbers = SharedVec::new();
    /// numbers.push("a");
    /// numbers.push("b");
    /// assert_eq!(numbers, ["a", "b"]);
    /// ```
    pub fn push(&mut self, value: T) {
        self.inner.push_back(Arc::new(value));
    }
}

impl<T: Clone> SharedVec<T> {
    /// The element at `index`, to change in place (copied first if a clone shares it).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let before: SharedVec<u32> = vec![1, 2].into();
    /// let mut after = before.clone();
    /// if let Some(first) = after.get_mut(0) {
    ///     *first = 10;
    /// }
    /// assert_eq!((before[0], after[0]), (1, 10));
    /// ```
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.inner.get_mut(index).map(Arc::make_mut)
    }

    /// The elements as a `Vec` (a copy of each).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedVec;
    ///
    /// let numbers: SharedVec<u32> = vec![1, 2].into();
    /// assert_eq!(numbers.to_vec(), vec![1, 2]);
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().cloned().collect()
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        SharedVec::new()
    }
}

impl<T> Clone for SharedVec<T> {
    /// O(1): the clone shares everything with `self` until one of them changes.
    fn clone(&self) -> Self {
        SharedVec {
            inner: self.inner.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for SharedVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq> PartialEq for SharedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Eq> Eq for SharedVec<T> {}

impl<T: PartialEq<U>, U> PartialEq<Vec<U>> for SharedVec<T> {
    fn eq(&self, other: &Vec<U>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<[U; N]> for SharedVec<T> {
    fn eq(&self, other: &[U; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl<T> Index<usize> for SharedVec<T> {
    type Output = T;

    /// Panics if `index` is out of bounds, like `Vec`'s.
    fn index(&self, index: usize) -> &T {
        &self.inner[index]
    }
}

impl<'a, T> IntoIterator for &'a SharedVec<T> {
    type Item = &'a T;
    type IntoIter = SharedVecIter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T> FromIterator<T> for SharedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        SharedVec {
            inner: iter.into_iter().map(Arc::new).collect(),
        }
    }
}

impl<T> Extend<T> for SharedVec<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for value in iter {
            self.push(value);
        }
    }
}

impl<T> From<Vec<T>> for SharedVec<T> {
    fn from(values: Vec<T>) -> Self {
        values.into_iter().collect()
    }
}

/// The elements of a [`SharedVec`], in order.
///
/// It walks the vector leaf by leaf (slices of up to 64 pointers), which makes a scan of a long
/// vector (the rounds, checked for a round id at every `TalksHeld`) several times faster than
/// looking each index up.
pub struct SharedVecIter<'a, T> {
    chunks: imbl::vector::Chunks<'a, Arc<T>, DefaultSharedPtr>,
    front: std::slice::Iter<'a, Arc<T>>,
    back: std::slice::Iter<'a, Arc<T>>,
    remaining: usize,
}

impl<'a, T> Iterator for SharedVecIter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        loop {
            if let Some(value) = self.front.next() {
                self.remaining -= 1;
                return Some(value);
            }
            match self.chunks.next() {
                Some(chunk) => self.front = chunk.iter(),
                None => {
                    let value = self.back.next()?;
                    self.remaining -= 1;
                    return Some(value);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> DoubleEndedIterator for SharedVecIter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(value) = self.back.next_back() {
                self.remaining -= 1;
                return Some(value);
            }
            match self.chunks.next_back() {
                Some(chunk) => self.back = chunk.iter(),
                None => {
                    let value = self.front.next_back()?;
                    self.remaining -= 1;
                    return Some(value);
                }
            }
        }
    }
}

impl<T> ExactSizeIterator for SharedVecIter<'_, T> {}

impl<T> std::iter::FusedIterator for SharedVecIter<'_, T> {}

impl<T: Serialize> Serialize for SharedVec<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SharedVec<T> {
    /// Element by element into the vector, without a `Vec` in between: a stored snapshot of
    /// a long dyad holds hundreds of thousands of them.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Elements<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Elements<T> {
            type Value = SharedVec<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut inner = imbl::Vector::new();
                while let Some(element) = seq.next_element::<T>()? {
                    inner.push_back(Arc::new(element));
                }
                Ok(SharedVec { inner })
            }
        }

        deserializer.deserialize_seq(Elements(std::marker::PhantomData))
    }
}

/// A persistent ordered map: a `BTreeMap` whose clones share structure, values included.
///
/// Compares, prints and serializes like the `BTreeMap` of its entries (a JSON object).
///
/// ```
/// use detente::domain::SharedMap;
///
/// let mut before: SharedMap<String, u32> = SharedMap::new();
/// before.insert("a".into(), 1);
/// let mut after = before.clone(); // O(1): nothing is copied
/// after.insert("b".into(), 2);
/// if let Some(a) = after.get_mut("a") {
///     *a += 10; // copies the value and the path to it, not the map
/// }
/// assert_eq!((before["a"], before.len()), (1, 1));
/// assert_eq!((after["a"], after.get("b"), after.len()), (11, Some(&2), 2));
/// assert_eq!(format!("{after:?}"), r#"{"a": 11, "b": 2}"#);
/// assert_eq!(serde_json::to_string(&after)?, r#"{"a":11,"b":2}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub struct SharedMap<K, V> {
    inner: imbl::OrdMap<K, Arc<V>>,
}

impl<K, V> SharedMap<K, V> {
    /// An empty map.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let empty: SharedMap<String, u32> = SharedMap::new();
    /// assert!(empty.is_empty());
    /// ```
    pub fn new() -> SharedMap<K, V> {
        SharedMap {
            inner: imbl::OrdMap::new(),
        }
    }

    /// The number of entries.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// map.insert("a", 1);
    /// map.insert("a", 2);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether there is no entry.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// assert!(map.is_empty());
    /// map.insert("a", 1);
    /// assert!(!map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<K: Ord, V> SharedMap<K, V> {
    /// The value of `key`, if it has one.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map: SharedMap<String, u32> = SharedMap::new();
    /// map.insert("a".into(), 1);
    /// assert_eq!((map.get("a"), map.get("b")), (Some(&1), None));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.inner.get(key).map(|value| &**value)
    }

    /// Whether `key` has a value.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map: SharedMap<String, u32> = SharedMap::new();
    /// map.insert("a".into(), 1);
    /// assert!(map.contains_key("a") && !map.contains_key("b"));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.inner.contains_key(key)
    }
    /// The entries, in key order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// map.insert("b", 2);
    /// map.insert("a", 1);
    /// assert_eq!(map.iter().collect::<Vec<_>>(), [(&"a", &1), (&"b", &2)]);
    /// ```
    pub fn iter(&self) -> SharedMapIter<'_, K, V> {
        SharedMapIter(self.inner.iter())
    }

    /// The keys, in order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// map.insert("b", 2);
    /// map.insert("a", 1);
    /// assert_eq!(map.keys().collect::<Vec<_>>(), [&"a", &"b"]);
    /// ```
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + '_ {
        self.iter().map(|(key, _)| key)
    }

    /// The values, in key order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// map.insert("b", 2);
    /// map.insert("a", 1);
    /// assert_eq!(map.values().sum::<u32>(), 3);
    /// assert_eq!(map.values().next(), Some(&1));
    /// ```
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + '_ {
        self.iter().map(|(_, value)| value)
    }
}

impl<K: Ord + Clone, V: Clone> SharedMap<K, V> {
    /// Sets the value of `key`, replacing any it had.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// map.insert("a", 1);
    /// map.insert("a", 2);
    /// assert_eq!(map.get("a"), Some(&2));
    /// ```
    pub fn insert(&mut self, key: K, value: V) {
        self.inner.insert(key, Arc::new(value));
    }

    /// The value of `key`, to change in place (copied first if a clone shares it).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut before = SharedMap::new();
    /// before.insert("a", 1);
    /// let mut after = before.clone();
    /// if let Some(a) = after.get_mut("a") {
    ///     *a += 10;
    /// }
    /// assert_eq!((before["a"], after["a"]), (1, 11));
    /// ```
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.inner.get_mut(key).map(Arc::make_mut)
    }

    /// Removes `key`, saying whether it had a value.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::SharedMap;
    ///
    /// let mut map = SharedMap::new();
    /// map.insert("a", 1);
    /// assert!(map.remove("a"));
    /// assert!(!map.remove("a"));
    /// assert!(map.is_empty());
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.inner.remove(key).is_some()
    }
}

impl<K, V> Default for SharedMap<K, V> {
    fn default() -> Self {
        SharedMap::new()
    }
}

impl<K, V> Clone for SharedMap<K, V> {
    /// O(1): the clone shares everything with `self` until one of them changes.
    fn clone(&self) -> Self {
        SharedMap {
            inner: self.inner.clone(),
        }
    }
}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for SharedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord, V: PartialEq> PartialEq for SharedMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Ord, V: Eq> Eq for SharedMap<K, V> {}

impl<K: Ord, V: PartialEq> PartialEq<BTreeMap<K, V>> for SharedMap<K, V> {
    fn eq(&self, other: &BTreeMap<K, V>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K, Q, V> Index<&Q> for SharedMap<K, V>
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = V;

    /// Panics if `key` has no value, like `BTreeMap`'s.
    fn index(&self, key: &Q) -> &V {
        &self.inner[key]
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a SharedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = SharedMapIter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for SharedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = SharedMap::new();
        map.extend(iter);
        map
    }
}

impl<K: Ord + Clone, V: Clone> Extend<(K, V)> for SharedMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl<K: Ord + Clone, V: Clone> From<BTreeMap<K, V>> for SharedMap<K, V> {
    fn from(map: BTreeMap<K, V>) -> Self {
        map.into_iter().collect()
    }
}

/// The entries of a [`SharedMap`], in key order.
pub struct SharedMapIter<'a, K, V>(imbl::ordmap::Iter<'a, K, Arc<V>, DefaultSharedPtr>);

impl<'a, K, V> Iterator for SharedMapIter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(key, value)| (key, &**value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for SharedMapIter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(key, value)| (key, &**value))
    }
}

impl<K, V> ExactSizeIterator for SharedMapIter<'_, K, V> {}

impl<K, V> std::iter::FusedIterator for SharedMapIter<'_, K, V> {}

impl<K: Ord + Serialize, V: Serialize> Serialize for SharedMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, K, V> Deserialize<'de> for SharedMap<K, V>
where
    K: Ord + Clone + Deserialize<'de>,
    V: Clone + Deserialize<'de>,
{
    /// Like a `BTreeMap`'s: a key given twice keeps its last value. Entry by entry into the
    /// map, without a `BTreeMap` in between.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(std::marker::PhantomData<(K, V)>);

        impl<'de, K, V> Visitor<'de> for Entries<K, V>
        where
            K: Ord + Clone + Deserialize<'de>,
            V: Clone + Deserialize<'de>,
        {
            type Value = SharedMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut inner = imbl::OrdMap::new();
                while let Some((key, value)) = map.next_entry::<K, V>()? {
                    inner.insert(key, Arc::new(value));
                }
                Ok(SharedMap { inner })
            }
        }

        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The leaf-by-leaf iterator, taken from either end in any mix, gives what a `Vec`'s
        /// does, across leaves (more than 64 elements) and with an exact length.
        #[test]
        fn iteration_from_both_ends_is_a_vec_s(
            values in prop::collection::vec(any::<u16>(), 0..300),
            ends in prop::collection::vec(any::<bool>(), 0..320),
        ) {
            let shared = SharedVec::from(values.clone());
            let (mut ours, mut theirs) = (shared.iter(), values.iter());
            for from_back in ends {
                prop_assert_eq!(ours.len(), theirs.len());
                if from_back {
                    prop_assert_eq!(ours.next_back(), theirs.next_back());
                } else {
                    prop_assert_eq!(ours.next(), theirs.next());
                }
            }
            prop_assert!(ours.eq(theirs));
            prop_assert_eq!(shared.iter().rev().collect::<Vec<_>>(), values.iter().rev().collect::<Vec<_>>());
        }

        /// A clone changed (pushes, changes in place) leaves the original as it was, and both
        /// read like the `Vec`s they model.
        #[test]
        fn a_changed_clone_leaves_the_original_alone(
            values in prop::collection::vec(any::<u16>(), 0..200),
            pushed in prop::collection::vec(any::<u16>(), 0..100),
            changed in any::<prop::sample::Index>(),
        ) {
            let original = SharedVec::from(values.clone());
            let mut clone = original.clone();
            let mut model = values.clone();
            for value in &pushed {
                clone.push(*value);
                model.push(*value);
            }
            let at = changed.index(model.len().max(1));
            if let (Some(ours), Some(theirs)) = (clone.get_mut(at), model.get_mut(at)) {
                *ours = ours.wrapping_add(1);
                *theirs = theirs.wrapping_add(1);
            }
            prop_assert_eq!(&original, &values);
            prop_assert_eq!(&clone, &model);
            prop_assert_eq!(clone.last(), model.last());
            prop_assert_eq!(original.first(), values.first());
        }

        /// Likewise for the map, against a `BTreeMap`.
        #[test]
        fn a_changed_map_clone_leaves_the_original_alone(
            entries in prop::collection::btree_map(0u8..64, any::<u16>(), 0..40),
            inserted in prop::collection::vec((0u8..64, any::<u16>()), 0..40),
            changed in 0u8..64,
        ) {
            let original = SharedMap::from(entries.clone());
            let mut clone = original.clone();
            let mut model = entries.clone();
            for (key, value) in &inserted {
                clone.insert(*key, *value);
                model.insert(*key, *value);
            }
            if let (Some(ours), Some(theirs)) = (clone.get_mut(&changed), model.get_mut(&changed)) {
                *ours = ours.wrapping_add(1);
                *theirs = theirs.wrapping_add(1);
            }
            prop_assert_eq!(&original, &entries);
            prop_assert_eq!(&clone, &model);
            prop_assert!(clone.keys().eq(model.keys()));
            prop_assert!(clone.values().rev().eq(model.values().rev()));
        }
    }

    #[test]
    fn json_and_debug_are_a_vec_s_and_a_btree_map_s() {
        let values: Vec<String> = (0..100).map(|n| n.to_string()).collect();
        let shared = SharedVec::from(values.clone());
        assert_eq!(
            serde_json::to_string(&shared).unwrap(),
            serde_json::to_string(&values).unwrap()
        );
        assert_eq!(format!("{shared:?}"), format!("{values:?}"));
        let back: SharedVec<String> =
            serde_json::from_str(&serde_json::to_string(&values).unwrap()).unwrap();
        assert_eq!(back, values);

        let map: BTreeMap<String, u32> = (0..100).map(|n| (n.to_string(), n)).collect();
        let shared = SharedMap::from(map.clone());
        assert_eq!(
            serde_json::to_string(&shared).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(format!("{shared:#?}"), format!("{map:#?}"));
        // A key given twice keeps its last value, as in a BTreeMap.
        let twice: SharedMap<String, u32> = serde_json::from_str(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(twice["a"], 2);
    }
}
