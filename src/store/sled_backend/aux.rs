//! The auxiliary values (the engine's caches) in sled: small ones in the `aux` tree as they
//! are, large ones cut into pieces in the `aux-large` tree.
//!
//! sled 0.34 splits a leaf when it holds more than 16 entries, whatever their size, and it
//! writes and reads a leaf whole. So a large value (a stored snapshot of a long dyad is
//! megabytes) kept beside its neighbours makes every read of one of them read all of them,
//! and every write of one write all of them again: one dyad of 100,000 events took 1.9 GB
//! on disk for 38 MB of JSON, and reading one 7.7 MB snapshot read its leaf of many. Cut into
//! pieces of [`PIECE`] bytes, a value is read and written as its own leaves.
//!
//! **Layout.** A value of fewer than [`PIECE`] bytes is in `aux` under its key. A larger one
//! is in `aux-large`: `m`+key -> its length (u64) and generation (u64), and
//! `p`+len(key) (u16)+key+generation+index (u32) -> each piece (integers big-endian). A key
//! is in one tree or the other, never both: a write that moves it between them is one
//! transaction over the two trees. The generation is new at each write of a large value, so
//! that a reader that finds the pieces of its generation gone (a writer replaced them
//! meanwhile) reads the value again instead of mixing two. Stores written before this layout
//! hold every value in `aux`; they read as they are, and a value moves on its next write.

use std::sync::{Arc, Mutex};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::super::StoreError;
use super::{SledEntries, io_error};
use std::path::Path;

/// The size of a piece, and the size from which a value is cut into pieces: a leaf of `aux`
/// then holds at most 16 values of less than this, and a leaf of pieces 16 pieces.
const PIECE: usize = 32 * 1024;

const META: u8 = b'm';
const PIECES: u8 = b'p';

/// The two trees of the auxiliary values.
pub(super) struct AuxTrees {
    aux: sled::Tree,
    large: sled::Tree,
    db: sled::Db,
    path: Arc<Path>,
    /// Writes of large values read what they replace, then write: one at a time.
    writing: Mutex<()>,
}

fn meta_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(META);
    out.extend_from_slice(key);
    out
}

/// The prefix of a value's pieces of one generation.
fn pieces_prefix(key: &[u8], generation: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 11);
    out.push(PIECES);
    // Keys of the engine are short; a key too long for a u16 length is refused by `write`.
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&generation.to_be_bytes());
    out
}

fn piece_key(prefix: &[u8], index: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 4);
    out.extend_from_slice(prefix);
    out.extend_from_slice(&index.to_be_bytes());
    out
}

/// A large value's length and generation, from its `m` entry.
fn decode_meta(bytes: &[u8]) -> Option<(u64, u64)> {
    let length = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let generation = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
    Some((length, generation))
}

fn pieces_of(length: u64) -> u32 {
    length.div_ceil(PIECE as u64) as u32
}

/// A large value, read piece by piece; again if a writer replaced it meanwhile.
fn read_large(
    aux: &sled::Tree,
    large: &sled::Tree,
    path: &Path,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let io = |err| io_error(path, err);
    loop {
        let Some(meta) = large.get(meta_key(key)).map_err(io)? else {
            return Ok(None);
        };
        let (length, generation) = decode_meta(&meta).ok_or_else(|| malformed(path, key))?;
        let mut value = Vec::with_capacity(length as usize);
        for piece in large.scan_prefix(pieces_prefix(key, generation)) {
            let (_, piece) = piece.map_err(io)?;
            value.extend_from_slice(&piece);
        }
        if value.len() as u64 == length {
            return Ok(Some(value));
        }
        // Not all there: a write replaced the value between the two reads. The new
        // generation is in place by now, or the key has moved to `aux`.
        if let Some(value) = aux.get(key).map_err(io)? {
            return Ok(Some(value.to_vec()));
        }
        let now = large.get(meta_key(key)).map_err(io)?;
        if now.as_deref() == Some(&meta[..]) {
            return Err(malformed(path, key));
        }
    }
}

fn malformed(path: &Path, key: &[u8]) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        message: format!(
            "the large cached value {:?} is incomplete: the store's caches are damaged; `detente verify` says more, and an export and restore into a new store rebuilds them",
            String::from_utf8_lossy(key)
        ),
    }
}

impl AuxTrees {
    pub(super) fn open(db: &sled::Db, path: Arc<Path>) -> Result<AuxTrees, sled::Error> {
        Ok(AuxTrees {
            aux: db.open_tree(b"aux")?,
            large: db.open_tree(b"aux-large")?,
            db: db.clone(),
            path,
            writing: Mutex::new(()),
        })
    }

    fn io(&self, err: sled::Error) -> StoreError {
        io_error(&self.path, err)
    }

    pub(super) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.aux.get(key).map_err(|err| self.io(err))? {
            return Ok(Some(value.to_vec()));
        }
        self.get_large(key)
    }

    fn get_large(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        read_large(&self.aux, &self.large, &self.path, key)
    }

    /// Writes the entries at once: one `apply_batch` on `aux` where no value is large and no
    /// key was, otherwise one transaction over both trees.
    pub(super) fn write(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        if let Some((key, _)) = entries
            .iter()
            .find(|(key, _)| key.len() > u16::MAX as usize)
        {
            return Err(StoreError::Io {
                path: self.path.to_path_buf(),
                message: format!("an auxiliary key of {} bytes is too long", key.len()),
            });
        }
        let _writing = self
            .writing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let any_large = !self.large.is_empty();
        let mut old = Vec::with_capacity(entries.len());
        for (key, _) in &entries {
            let meta = if any_large {
                self.large.get(meta_key(key)).map_err(|err| self.io(err))?
            } else {
                None
            };
            old.push(meta.and_then(|meta| decode_meta(&meta)));
        }
        let is_large = |value: &Option<Vec<u8>>| value.as_ref().is_some_and(|v| v.len() >= PIECE);
        if old.iter().all(Option::is_none) && !entries.iter().any(|(_, value)| is_large(value)) {
            return self.write_small(entries);
        }
        let mut generations = Vec::with_capacity(entries.len());
        for (_, value) in &entries {
            generations.push(if is_large(value) {
                Some(self.db.generate_id().map_err(|err| self.io(err))?)
            } else {
                None
            });
        }
        let result: Result<(), TransactionError<()>> =
            (&self.aux, &self.large).transaction(|(aux, large)| {
                for (((key, value), old), generation) in entries.iter().zip(&old).zip(&generations)
                {
                    if let Some((length, generation)) = old {
                        let prefix = pieces_prefix(key, *generation);
                        for index in 0..pieces_of(*length) {
                            large.remove(piece_key(&prefix, index))?;
                        }
                        large.remove(meta_key(key))?;
                    }
                    match (value, generation) {
                        (Some(value), Some(generation)) => {
                            aux.remove(key.as_slice())?;
                            let prefix = pieces_prefix(key, *generation);
                            for (index, piece) in value.chunks(PIECE).enumerate() {
                                large.insert(piece_key(&prefix, index as u32), piece)?;
                            }
                            let mut meta = (value.len() as u64).to_be_bytes().to_vec();
                            meta.extend_from_slice(&generation.to_be_bytes());
                            large.insert(meta_key(key), meta)?;
                        }
                        (Some(value), None) => {
                            aux.insert(key.as_slice(), value.as_slice())?;
                        }
                        (None, _) => {
                            aux.remove(key.as_slice())?;
                        }
                    }
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|err| match err {
            TransactionError::Storage(err) => self.io(err),
            TransactionError::Abort(()) => StoreError::Io {
                path: self.path.to_path_buf(),
                message: "a write of the caches was aborted".into(),
            },
        })
    }

    /// sled's `apply_batch` rolls its IO buffer twice whatever the batch holds, so a batch is
    /// used only where atomicity needs one: a plain write for one entry.
    fn write_small(&self, mut entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        if entries.len() == 1 {
            let written = match entries.pop() {
                Some((key, Some(value))) => self.aux.insert(key, value).map(drop),
                Some((key, None)) => self.aux.remove(key).map(drop),
                None => Ok(()),
            };
            return written.map_err(|err| self.io(err));
        }
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        self.aux.apply_batch(batch).map_err(|err| self.io(err))
    }

    /// The entries under `prefix`, in key order, from both trees.
    pub(super) fn scan(&self, prefix: &[u8]) -> SledAuxEntries {
        SledAuxEntries {
            small: SledEntries {
                iter: Some(self.aux.scan_prefix(prefix)),
                path: self.path.clone(),
            }
            .peekable(),
            large: self.large_keys(prefix, prefix).peekable(),
            trees: self.clone_handles(),
        }
    }

    /// The keys from `from` on within `prefix`, in key order, from both trees.
    pub(super) fn keys_from(&self, prefix: &[u8], from: &[u8]) -> SledAuxKeys {
        let from = from.max(prefix);
        SledAuxKeys {
            small: KeysIn {
                keys: self.aux.range(from..),
                tag: None,
                prefix: prefix.to_vec(),
                path: self.path.clone(),
            }
            .peekable(),
            large: self.large_keys(prefix, from).peekable(),
        }
    }

    fn large_keys(&self, prefix: &[u8], from: &[u8]) -> KeysIn {
        KeysIn {
            keys: self.large.range(meta_key(from)..),
            tag: Some(META),
            prefix: prefix.to_vec(),
            path: self.path.clone(),
        }
    }

    /// The last key in `prefix..=last`, of either tree.
    pub(super) fn last_key(
        &self,
        prefix: &[u8],
        last: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if last < prefix {
            return Ok(None);
        }
        let small = match self.aux.range(prefix..=last).next_back() {
            Some(entry) => Some(entry.map_err(|err| self.io(err))?.0.to_vec()),
            None => None,
        };
        let large = match self
            .large
            .range(meta_key(prefix)..=meta_key(last))
            .next_back()
        {
            Some(entry) => Some(entry.map_err(|err| self.io(err))?.0[1..].to_vec()),
            None => None,
        };
        Ok(small.max(large))
    }

    fn clone_handles(&self) -> AuxHandles {
        AuxHandles {
            aux: self.aux.clone(),
            large: self.large.clone(),
            path: self.path.clone(),
        }
    }
}

/// What an iterator needs to read a large value.
struct AuxHandles {
    aux: sled::Tree,
    large: sled::Tree,
    path: Arc<Path>,
}

/// The keys of one tree from a key on within a prefix; in `aux-large`, those of its `m`
/// entries, without the tag.
struct KeysIn {
    keys: sled::Iter,
    tag: Option<u8>,
    prefix: Vec<u8>,
    path: Arc<Path>,
}

impl Iterator for KeysIn {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.keys.next()? {
            Ok((key, _)) => {
                let key = match self.tag {
                    Some(tag) => key.strip_prefix(&[tag])?,
                    None => &key[..],
                };
                key.starts_with(&self.prefix).then(|| Ok(key.to_vec()))
            }
            Err(err) => Some(Err(io_error(&self.path, err))),
        }
    }
}

/// Auxiliary entries by prefix, of both trees in key order.
pub struct SledAuxEntries {
    small: std::iter::Peekable<SledEntries>,
    large: std::iter::Peekable<KeysIn>,
    trees: AuxHandles,
}

impl Iterator for SledAuxEntries {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let take_small = match (self.small.peek(), self.large.peek()) {
            (None, None) => return None,
            (Some(Ok((small, _))), Some(Ok(large))) => small.as_ref() <= large.as_slice(),
            (Some(Err(_)), _) | (_, None) => true,
            (None, Some(_)) | (Some(Ok(_)), Some(Err(_))) => false,
        };
        if take_small {
            return Some(
                self.small
                    .next()?
                    .map(|(key, value)| (key.to_vec(), value.to_vec())),
            );
        }
        let key = match self.large.next()? {
            Ok(key) => key,
            Err(err) => return Some(Err(err)),
        };
        let trees = &self.trees;
        match read_large(&trees.aux, &trees.large, &trees.path, &key) {
            Ok(Some(value)) => Some(Ok((key, value))),
            // Removed since the scan found it: go on with the next.
            Ok(None) => self.next(),
            Err(err) => Some(Err(err)),
        }
    }
}

/// Auxiliary keys from a key on, within a prefix, of both trees in key order.
pub struct SledAuxKeys {
    small: std::iter::Peekable<KeysIn>,
    large: std::iter::Peekable<KeysIn>,
}

impl Iterator for SledAuxKeys {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let take_small = match (self.small.peek(), self.large.peek()) {
            (None, None) => return None,
            (Some(Ok(small)), Some(Ok(large))) => small <= large,
            (Some(Err(_)), _) | (_, None) => true,
            (None, Some(_)) | (Some(Ok(_)), Some(Err(_))) => false,
        };
        if take_small {
            self.small.next()
        } else {
            self.large.next()
        }
    }
}
