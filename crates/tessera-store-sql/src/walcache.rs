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
//! (its change counter, last frame and frame checksum move; a restart of
//! the log also changes its salts), and
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
//!   held open for the store's life, and its locks keep every other
//!   connection from deleting the file (that needs the database's
//!   exclusive lock), truncating it (the DMS lock), or leaving WAL mode;
//! - this process never closes its handle on a `-shm` file ([`shm_file`]):
//!   on Linux, closing any descriptor of a file drops every POSIX lock the
//!   process holds on it, SQLite's included;
//! - a header SQLite rebuilt after a crash (recovery, which zeroes the
//!   change counter) is never trusted: no row is kept or served under a
//!   change counter of 0, so a rebuilt header that repeats an earlier one
//!   (an empty log rebuilds to the same bytes) cannot revive old rows, and
//!   a header that does not read consistent clears them;
//! - every process on the file is on this host and uses SQLite's default
//!   Unix VFS with its shared-memory WAL index and POSIX locks (tessera's
//!   do; a process opened with `nolock=1` or another locking VFS would
//!   corrupt SQLite's own readers too), and nobody removes `-shm` by hand;
//! - `pread` sees what SQLite writes through its mapping at once: one page
//!   cache, which is Linux's behaviour; elsewhere there is no cache;
//! - only session rows found are kept (an unknown token is never cached, so
//!   random tokens cannot fill it), at most [`CAPACITY`] of them; a full
//!   cache keeps no more until the next change clears it.
//!
//! Any write to the file clears it: on a server that logs users in every
//! second the rows live about a second. What it saves is a read-mostly
//! load's system calls and SQLite work, not a round trip (there is none).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tessera_core::session::Session;
use tessera_core::token::TokenHash;

/// Bytes of one copy of the WAL-index header (`struct WalIndexHdr`).
const HEADER: usize = 48;
/// The bytes the header's checksum covers (all but `aCksum`).
const CHECKSUMMED: usize = 40;
/// `WALINDEX_MAX_VERSION`: the only header format this reads.
const VERSION: u32 = 3_007_000;
/// Sessions kept at most (a few hundred bytes each, up to about 3 KiB with
/// the longest user agent: some 30 MiB at worst).
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
    shm: Arc<File>,
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
            shm: shm_file(Path::new(&shm))?,
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
        let now = self.header().filter(|h| change_counter(h) != 0);
        let Ok(mut rows) = self.rows.lock() else {
            return Lookup::Unknown;
        };
        let Some(now) = now else {
            // Mid-write, rebuilt, or unreadable: trust nothing kept.
            rows.by_hash.clear();
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

    /// Forgets every row (the store is closing).
    pub(crate) fn clear(&self) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.by_hash.clear();
        }
    }

    /// How many rows are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.lock().unwrap().by_hash.len()
    }
}

/// This process's handle on the `-shm` file at `path`, opened once and
/// never closed. POSIX locks belong to the process and the file: closing
/// any descriptor of `-shm` would drop the locks SQLite's connections in
/// this process hold on it (its DMS lock among them, which keeps other
/// processes from truncating the file under them). So a handle is kept for
/// the process's life, one per file (by device and inode), whatever stores
/// come and go.
fn shm_file(path: &Path) -> std::io::Result<Arc<File>> {
    /// Device and inode, and the handle.
    type Opened = ((u64, u64), Arc<File>);
    static OPEN: Mutex<Vec<Opened>> = Mutex::new(Vec::new());
    let key = |m: &std::fs::Metadata| (m.dev(), m.ino());
    let at_path = key(&std::fs::metadata(path)?);
    let mut open = OPEN.lock().map_err(|_| std::io::Error::other("poisoned"))?;
    if let Some((_, file)) = open.iter().find(|(k, _)| *k == at_path) {
        return Ok(file.clone());
    }
    let file = Arc::new(File::open(path)?);
    // Kept before anything else can fail, so it is never closed.
    let opened = file.metadata().map_or((0, 0), |m| key(&m));
    open.push((opened, file.clone()));
    if opened == at_path {
        Ok(file)
    } else {
        Err(std::io::Error::other("-shm replaced while it was opened"))
    }
}

/// The header's change counter (`iChange`): 0 only in a header recovery
/// wrote; every commit adds one.
fn change_counter(h: &Header) -> u32 {
    u32::from_ne_bytes([h[8], h[9], h[10], h[11]])
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
    use tessera_core::session::SessionPolicy;

    /// A header as SQLite writes it: fields, then the checksum.
    fn header(change: u32, version: u32, is_init: u8) -> Header {
        let mut h = [0u8; HEADER];
        h[0..4].copy_from_slice(&version.to_ne_bytes());
        h[8..12].copy_from_slice(&change.to_ne_bytes());
        h[12] = is_init;
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

    fn written(change: u32) -> Header {
        header(change, VERSION, 1)
    }

    /// A `-shm` file of this test's own (not SQLite's) holding `first` and
    /// `second` as the header's two copies.
    fn shm(db: &Path, first: Header, second: Header) {
        let mut bytes = first.to_vec();
        bytes.extend_from_slice(&second);
        bytes.extend_from_slice(&[0u8; 40]);
        let mut path = db.as_os_str().to_owned();
        path.push("-shm");
        std::fs::write(path, bytes).unwrap();
    }

    fn session() -> Session {
        let now = tessera_core::clock::whole_seconds(time::OffsetDateTime::now_utc());
        let user = tessera_store::conformance::sample_user("kept@example.com", now).user;
        let hash = tessera_core::SessionToken::generate().hash();
        SessionPolicy::default().start(user, hash, now, None, None)
    }

    #[test]
    fn only_a_whole_header_of_the_known_format_reads_consistent() {
        let good = written(3);
        assert!(consistent(&good));
        // Each with its checksum right, so that only the field decides.
        assert!(!consistent(&header(3, VERSION, 0)), "not initialised");
        assert!(!consistent(&header(3, 3_007_001, 1)), "another format");
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
        let cache_on = |first: Header, second: Header| {
            shm(&db, first, second);
            WalCache::open(&db).unwrap().header()
        };
        assert_eq!(cache_on(written(4), written(4)), Some(written(4)));
        assert_eq!(cache_on(written(4), written(5)), None);
        std::fs::write(dir.path().join("x.db-shm"), [0u8; 20]).unwrap();
        assert_eq!(WalCache::open(&db).unwrap().header(), None, "too short");
    }

    /// A read that began under one header and is offered after another
    /// lookup has seen the next one is kept under its own, older header:
    /// never served. Then: rows are served under the header they were read
    /// under; a header caught mid-write, and a header recovery rebuilt
    /// (change counter 0) that repeats one rows were kept under, serve
    /// nothing and clear them.
    #[test]
    fn rows_are_served_only_under_the_header_they_were_read_under() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        shm(&db, written(4), written(4));
        let cache = WalCache::open(&db).unwrap();
        let (a, b) = (session(), session());
        let miss = |s: &Session| match cache.find(&s.token_hash) {
            Lookup::Miss(h) => h,
            Lookup::Hit(_) => panic!("served"),
            Lookup::Unknown => panic!("unknown"),
        };
        let hit = |s: &Session| matches!(cache.find(&s.token_hash), Lookup::Hit(x) if x == *s);

        let before = miss(&a);
        assert_eq!(before, written(4));
        shm(&db, written(5), written(5)); // a commit while `a` is read
        assert_eq!(miss(&b), written(5)); // another request sees it first
        cache.keep(before, &a);
        assert_eq!(
            miss(&a),
            written(5),
            "a row read across a commit is never served"
        );

        cache.keep(written(5), &a);
        cache.keep(written(5), &b);
        assert!(hit(&a) && hit(&b));
        assert_eq!(cache.len(), 2);

        shm(&db, written(6), written(5)); // caught between the copies
        assert!(matches!(cache.find(&a.token_hash), Lookup::Unknown));
        assert_eq!(
            cache.len(),
            0,
            "a header that does not read consistent clears"
        );

        // Rows kept under a header with change counter 0 (as recovery
        // writes it) would come back if a later recovery wrote the same
        // bytes (an empty log rebuilds to the same header): none is served
        // under it, so none is ever read to be kept under it.
        shm(&db, written(0), written(0));
        assert!(matches!(cache.find(&a.token_hash), Lookup::Unknown));
        cache.keep(written(0), &a); // as if a caller had read it anyway
        shm(&db, written(1), written(1)); // a commit nobody looked at
        shm(&db, written(0), written(0)); // a crash, the same rebuilt header
        assert!(!hit(&a), "nothing is served under a rebuilt header");
        assert_eq!(cache.len(), 0);
    }
}
