//! Argon2id password hashing on a bounded pool.
//!
//! Hashing is deliberately expensive, so it must not eat the cores that serve
//! sessions. At most `workers` hashes run at once and at most `queue` more
//! wait; past that the answer is [`HashError::Busy`] at once (503 with
//! `Retry-After` at the edge), so a login storm queues nothing unbounded.
//! The hashes run on dedicated threads at the lowest scheduling priority
//! (nice 19 on Linux), so when hashing and session checks share a core, the
//! scheduler runs the session checks first: whoami keeps its latency
//! through a login storm.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for Argon2Settings {
    /// OWASP's recommendation for Argon2id.
    fn default() -> Self {
        Self {
            m_cost: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HashError {
    #[error("password hasher saturated")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used other parameters than the current ones.
    pub needs_rehash: bool,
}

#[derive(Clone, Debug)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    settings: Argon2Settings,
    workers: Arc<Semaphore>,
    admission: Arc<Semaphore>,
    /// Jobs for the hashing threads; they end when this is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
    waiting: AtomicUsize,
    running: AtomicUsize,
    /// Verified against when the email is unknown, so that answer takes as
    /// long as a wrong password.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(settings: Argon2Settings, workers: usize, queue: usize) -> Result<Self, HashError> {
        let params = Params::new(settings.m_cost, settings.t_cost, settings.p_cost, None)
            .map_err(|e| HashError::Internal(format!("bad Argon2 parameters: {e}")))?;
        let workers = workers.max(1);
        let dummy = SecretString::from(hex_of(&crate::token::random_bytes::<16>()));
        let dummy_hash = hash_with(&params, &dummy)?;
        let jobs = spawn_workers(workers)?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                settings,
                workers: Arc::new(Semaphore::new(workers)),
                admission: Arc::new(Semaphore::new(workers + queue)),
                jobs: Mutex::new(jobs),
                waiting: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                dummy_hash,
            }),
        })
    }

    pub fn settings(&self) -> Argon2Settings {
        self.inner.settings
    }

    /// No room for another hash: a caller can refuse at once, before doing
    /// any other work for a request that would only get [`HashError::Busy`].
    pub fn is_full(&self) -> bool {
        self.inner.admission.available_permits() == 0
    }

    /// Hashes waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// Hashes running now.
    pub fn in_flight(&self) -> usize {
        self.inner.running.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let params = self.inner.params.clone();
        self.run(move || hash_with(&params, &password)).await?
    }

    /// Checks `password` against `stored`; with no stored hash, checks a
    /// dummy and answers "no match" after the same work.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let params = self.inner.params.clone();
        let (phc, real) = match stored {
            Some(h) => (h, true),
            None => (self.inner.dummy_hash.clone(), false),
        };
        self.run(move || {
            // A hash imported from another system: checked with its own
            // algorithm, and replaced by an Argon2id hash on success.
            if let Some(matches) = crate::imported::verify(password.expose_secret(), &phc) {
                let matches = matches && real;
                return Ok(Verified {
                    matches,
                    needs_rehash: matches,
                });
            }
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return Ok(Verified {
                    matches: false,
                    needs_rehash: false,
                });
            };
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let matches = argon
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok()
                && real;
            Ok(Verified {
                matches,
                needs_rehash: matches && stale(&parsed, &params),
            })
        })
        .await?
    }

    async fn run<T, F>(&self, job: F) -> Result<T, HashError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = Arc::clone(&self.inner.admission)
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        self.inner.waiting.fetch_add(1, Ordering::Relaxed);
        let worker = Arc::clone(&self.inner.workers).acquire_owned().await;
        self.inner.waiting.fetch_sub(1, Ordering::Relaxed);
        let worker = worker.map_err(|_| HashError::Internal("hasher closed".into()))?;
        let inner = Arc::clone(&self.inner);
        inner.running.fetch_add(1, Ordering::Relaxed);
        let (done, result) = tokio::sync::oneshot::channel();
        let sent = inner
            .jobs
            .lock()
            .map_err(|_| HashError::Internal("hasher lock poisoned".into()))?
            .send(Box::new(move || {
                let out = job();
                drop(worker);
                drop(admitted);
                let _ = done.send(out);
            }));
        let result = match sent {
            Ok(()) => result
                .await
                .map_err(|_| HashError::Internal("hashing thread failed".into())),
            Err(_) => Err(HashError::Internal("hashing threads gone".into())),
        };
        inner.running.fetch_sub(1, Ordering::Relaxed);
        result
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// `n` hashing threads at the lowest priority, taking jobs until the
/// sender is dropped.
fn spawn_workers(n: usize) -> Result<mpsc::Sender<Job>, HashError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = Arc::clone(&rx);
        std::thread::Builder::new()
            .name(format!("tessera-hash-{i}"))
            .spawn(move || {
                if let Err(e) = thread_priority::set_current_thread_priority(
                    thread_priority::ThreadPriority::Min,
                ) {
                    tracing::warn!(error = ?e, "could not lower the hashing thread's priority");
                }
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| HashError::Internal(format!("starting a hashing thread: {e}")))?;
    }
    Ok(tx)
}

fn hash_with(params: &Params, password: &SecretString) -> Result<String, HashError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Internal(e.to_string()))
}

/// A hash made with another algorithm, version or cost than today's.
fn stale(hash: &PasswordHash<'_>, current: &Params) -> bool {
    if hash.algorithm != argon2::ARGON2ID_IDENT || hash.version != Some(Version::V0x13.into()) {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() != current.m_cost()
                || p.t_cost() != current.t_cost()
                || p.p_cost() != current.p_cost()
        }
        Err(_) => true,
    }
}

fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Argon2Settings = Argon2Settings {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    /// Hashing yields to session checks on a shared core: its threads run
    /// at the lowest priority (nice 19).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_at_the_lowest_priority() {
        let h = PasswordHasher::new(FAST, 2, 4).unwrap();
        let nice = h
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                // Field 19 (nice), counted after the ")" that ends the name.
                let after = &stat[stat.rfind(')').unwrap() + 2..];
                after.split(' ').nth(16).unwrap().to_owned()
            })
            .await
            .unwrap();
        assert_eq!(nice, "19");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_and_verify() {
        let h = PasswordHasher::new(FAST, 1, 4).unwrap();
        let phc = h.hash(secret("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let ok = h
            .verify(secret("correct horse"), Some(phc.clone()))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verified {
                matches: true,
                needs_rehash: false
            }
        );
        let bad = h.verify(secret("wrong horse"), Some(phc)).await.unwrap();
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn unknown_user_verifies_the_dummy_and_never_matches() {
        let h = PasswordHasher::new(FAST, 1, 4).unwrap();
        let dummy = h.inner.dummy_hash.clone();
        assert!(dummy.starts_with("$argon2id$"));
        let v = h.verify(secret("anything"), None).await.unwrap();
        assert!(!v.matches);
    }

    #[tokio::test]
    async fn changed_parameters_ask_for_a_rehash() {
        let old = PasswordHasher::new(FAST, 1, 4).unwrap();
        let phc = old.hash(secret("correct horse")).await.unwrap();
        let new = PasswordHasher::new(
            Argon2Settings {
                m_cost: 128,
                ..FAST
            },
            1,
            4,
        )
        .unwrap();
        let v = new
            .verify(secret("correct horse"), Some(phc))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let h = PasswordHasher::new(
            Argon2Settings {
                m_cost: 8192,
                t_cost: 3,
                p_cost: 1,
            },
            1,
            1,
        )
        .unwrap();
        // Hold the only worker and the only queue place.
        let gate = Arc::new(std::sync::Barrier::new(2));
        let g = Arc::clone(&gate);
        let busy = tokio::spawn({
            let h = h.clone();
            async move { h.run(move || g.wait()).await }
        });
        while h.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let queued = tokio::spawn({
            let h = h.clone();
            async move { h.hash(secret("queued password")).await }
        });
        while h.queue_depth() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            h.hash(secret("one too many")).await,
            Err(HashError::Busy)
        ));
        gate.wait();
        busy.await.unwrap().unwrap();
        assert!(queued.await.unwrap().is_ok());
        assert!(h.hash(secret("room again")).await.is_ok());
    }
}
