//! Session rows kept between reads while the SQLite file is unchanged.
//!
//! A whoami on the embedded store read its row through SQLite every time:
//! the B-tree lookup, the row decode, and two `fcntl` calls (the lock on a
//! read slot of the WAL index, taken and released), where a slow host's
//! system calls cost most (docs/performance.md). This keeps the sessions
//! it read, and serves one again only while the file cannot have changed.
//!
//! How it knows: in WAL mode every commit, by any connection of any
//! process, rewrites the WAL-index header at the start of the `-shm` file
//! (its change counter, last frame, frame checksum and salts all move), and
//! SQLite's own readers compare that header to decide whether their page
//! cache is still good (`walIndexTryHdr` in sqlite3.c). This does the same
//! with one `pread` of the header's two copies per request: a hit needs the
//! header to read consistent (both copies equal, initialised, the format
//! version this code knows, its checksum right) and equal to the header
//! every kept row was read under. A row is kept under the header read just
//! before its read (in a transaction of its own, so the read saw the file
//! as of that header or later: if later, a commit came between, the file's
//! header differs from the one the row is kept under, and it is never
//! served). Any change clears every row; anything unexpected (a torn read,
//! another format, an I/O error) reads through SQLite without keeping
//! anything.
//!
//! What it relies on, and how it is held to it:
//! - the `-shm` file stays the one SQLite uses: an anchor connection is
//!   held open for the store's life, so no other connection can take the
//!   exclusive lock SQLite needs to delete, truncate or rebuild it;
//! - every process on the file uses SQLite's shared-memory WAL index
//!   (tessera's do; a process in `locking_mode=EXCLUSIVE` from its first
//!   access would keep its index in its own memory, but it also holds the
//!   file's exclusive lock, so no other reader could read it either);
//! - only session rows found are kept (an unknown token is never cached, so
//!   random tokens cannot fill it), at most [`CAPACITY`] of them; a full
//!   cache keeps no more until the next change clears it.
//!
//! Any write to the file clears it: on a server that logs users in every
//! second the rows live about a second. What it saves is a read-mostly
//! load's system calls and SQLite work, not a round trip (there is none).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use tessera_core::session::Session;
use tessera_core::token::TokenHash;

/// Bytes of one copy of the WAL-index header (`struct WalIndexHdr`).
const HEADER: usize = 48;
/// The bytes the header's checksum covers (all but `aCksum`).
const CHECKSUMMED: usize = 40;
/// `WALINDEX_MAX_VERSION`: the only header format this reads.
const VERSION: u32 = 3_007_000;
/// Sessions kept at most (a few hundred bytes each).
pub(crate) const CAPACITY: usize = 10_000;

/// One consistent copy of the WAL-index header.
pub(crate) type Header = [u8; HEADER];

/// What a lookup found.
#[expect(
    clippy::large_enum_variant,
    reason = "taken apart by the caller at once; a box would allocate on every hit"
)]
pub(crate) enum Lookup {
    /// The row as the file holds it now.
    Hit(Session),
    /// Not kept; read it, then offer it with this header ([`WalCache::keep`]).
    Miss(Header),
    /// The header did not read consistent: read through SQLite, keep nothing.
    Unknown,
}

#[derive(Debug)]
pub(crate) struct WalCache {
    shm: File,
    rows: Mutex<Rows>,
    #[cfg(test)]
    pub(crate) hits: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Rows {
    /// The header every row here was read under.
    header: Header,
    by_hash: HashMap<[u8; 32], Session>,
}

impl WalCache {
    /// The cache over `db`'s WAL index, whose `-shm` file must exist (a
    /// connection in WAL mode has read the file).
    pub(crate) fn open(db: &Path) -> std::io::Result<Self> {
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        Ok(Self {
            shm: File::open(shm)?,
            rows: Mutex::new(Rows {
                header: [0; HEADER],
                by_hash: HashMap::new(),
            }),
            #[cfg(test)]
            hits: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The header as it is now, if it reads consistent.
    pub(crate) fn header(&self) -> Option<Header> {
        let mut both = [0u8; 2 * HEADER];
        self.shm.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        let header: Header = first.try_into().ok()?;
        (first == second && consistent(&header)).then_some(header)
    }

    /// The session for `hash`, if one is kept and the file is unchanged.
    pub(crate) fn find(&self, hash: &TokenHash) -> Lookup {
        let Some(now) = self.header() else {
            return Lookup::Unknown;
        };
        let Ok(mut rows) = self.rows.lock() else {
            return Lookup::Unknown;
        };
        if rows.header != now {
            rows.by_hash.clear();
            rows.header = now;
            return Lookup::Miss(now);
        }
        match rows.by_hash.get(&hash.0) {
            Some(session) => {
                #[cfg(test)]
                self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Lookup::Hit(session.clone())
            }
            None => Lookup::Miss(now),
        }
    }

    /// Keeps `session`, read from the file after the header `before` was
    /// read (the [`Lookup::Miss`] that sent the caller to the file). Its
    /// read saw the file as of `before` or later: if a commit came between,
    /// the file's header is no longer `before`, so a row kept under
    /// `before` is never served.
    pub(crate) fn keep(&self, before: Header, session: &Session) {
        let Ok(mut rows) = self.rows.lock() else {
            return;
        };
        if rows.header != before {
            rows.by_hash.clear();
            rows.header = before;
        }
        if rows.by_hash.len() < CAPACITY {
            rows.by_hash.insert(session.token_hash.0, session.clone());
        }
    }

    /// How many rows are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.lock().unwrap().by_hash.len()
    }
}

/// Initialised, the known format, and its checksum right (as SQLite's own
/// reader checks it: the Fletcher-like sum of `walChecksumBytes` over the
/// first 40 bytes as native-endian words).
fn consistent(h: &Header) -> bool {
    let word = |i: usize| u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let is_init = h[12] != 0;
    if !is_init || word(0) != VERSION {
        return false;
    }
    let (mut s1, mut s2) = (0u32, 0u32);
    for i in (0..CHECKSUMMED).step_by(8) {
        s1 = s1.wrapping_add(word(i)).wrapping_add(s2);
        s2 = s2.wrapping_add(word(i + 4)).wrapping_add(s1);
    }
    s1 == word(CHECKSUMMED) && s2 == word(CHECKSUMMED + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as SQLite writes it: fields, then the checksum.
    fn written(change: u32) -> Header {
        let mut h = [0u8; HEADER];
        h[0..4].copy_from_slice(&VERSION.to_ne_bytes());
        h[8..12].copy_from_slice(&change.to_ne_bytes());
        h[12] = 1;
        h[14..16].copy_from_slice(&4096u16.to_ne_bytes());
        h[16..20].copy_from_slice(&7u32.to_ne_bytes());
        let word = |h: &Header, i: usize| u32::from_ne_bytes(h[i..i + 4].try_into().unwrap());
        let (mut s1, mut s2) = (0u32, 0u32);
        for i in (0..CHECKSUMMED).step_by(8) {
            s1 = s1.wrapping_add(word(&h, i)).wrapping_add(s2);
            s2 = s2.wrapping_add(word(&h, i + 4)).wrapping_add(s1);
        }
        h[40..44].copy_from_slice(&s1.to_ne_bytes());
        h[44..48].copy_from_slice(&s2.to_ne_bytes());
        h
    }

    #[test]
    fn only_a_whole_header_of_the_known_format_reads_consistent() {
        let good = written(3);
        assert!(consistent(&good));
        let mut not_init = good;
        not_init[12] = 0;
        assert!(!consistent(&not_init));
        let mut other_version = written(3);
        other_version[0..4].copy_from_slice(&3_007_001u32.to_ne_bytes());
        assert!(!consistent(&other_version));
        // A byte of a field changed without its checksum: a torn write.
        for i in [8, 16, 24, 32, 39] {
            let mut torn = good;
            torn[i] ^= 1;
            assert!(!consistent(&torn), "byte {i}");
        }
        let mut bad_sum = good;
        bad_sum[47] ^= 0x80;
        assert!(!consistent(&bad_sum));
    }

    /// Two copies that differ (a writer between them) read as no header.
    #[test]
    fn copies_that_differ_are_no_header() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let shm = dir.path().join("x.db-shm");
        let cache_on = |first: Header, second: Header| {
            let mut bytes = first.to_vec();
            bytes.extend_from_slice(&second);
            bytes.extend_from_slice(&[0u8; 40]);
            std::fs::write(&shm, bytes).unwrap();
            WalCache::open(&db).unwrap().header()
        };
        assert_eq!(cache_on(written(4), written(4)), Some(written(4)));
        assert_eq!(cache_on(written(4), written(5)), None);
        std::fs::write(&shm, [0u8; 20]).unwrap();
        assert_eq!(WalCache::open(&db).unwrap().header(), None, "too short");
    }
}
