use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::call_write::CallWrite;
use crate::db::Store;
use crate::error::StoreError;

/// Settings of a [`BatchWriter`].
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Where updates the database refuses for good go (see [`DeadLetter`]); `None`: they are
    /// logged and counted only. The writer never waits on this queue: when it is full the
    /// dead letter is logged and dropped.
    pub dead_letters: Option<mpsc::Sender<DeadLetter>>,
    /// Write once this many rows (calls + legs + events) are pending.
    pub max_rows: usize,
    /// Write at most this long after the first pending row arrived.
    pub max_delay: Duration,
    /// Updates that may wait in the queue before [`BatchWriter::write`] waits too
    /// (backpressure).
    pub queue_capacity: usize,
    /// Wait before trying again after a failed write.
    pub retry_delay: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_rows: 500,
            max_delay: Duration::from_millis(50),
            queue_capacity: 1024,
            retry_delay: Duration::from_millis(500),
            dead_letters: None,
        }
    }
}

impl BatchConfig {
    /// Sets [`BatchConfig::max_rows`].
    #[must_use]
    pub fn with_max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows;
        self
    }

    /// Sets [`BatchConfig::max_delay`].
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`BatchConfig::queue_capacity`].
    #[must_use]
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Sets [`BatchConfig::retry_delay`].
    #[must_use]
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Sets [`BatchConfig::dead_letters`].
    #[must_use]
    pub fn with_dead_letters(mut self, queue: mpsc::Sender<DeadLetter>) -> Self {
        self.dead_letters = Some(queue);
        self
    }
}

/// An update the database refused on its own for a reason retrying does not fix (a foreign
/// key to a tenant that does not exist, a value a column refuses): set aside so that the
/// writer goes on with the others instead of retrying it forever.
#[derive(Debug)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The update, as it was queued.
    pub write: CallWrite,
    /// Why the database refused it.
    pub error: StoreError,
}

/// Counters of a [`BatchWriter`], returned by [`BatchWriter::shutdown`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub batches: u64,
    /// Rows (calls + legs + events) written.
    pub rows: u64,
    /// Transactions that failed (their rows were kept and tried again, or dead-lettered).
    pub failures: u64,
    /// Updates the database refused for good ([`DeadLetter`]s).
    pub dead_letters: u64,
}

/// The live counters behind [`BatchWriter::stats`].
#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    rows: AtomicU64,
    failures: AtomicU64,
    dead_letters: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> WriterStats {
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
        }
    }
}

/// Whether a failed write may succeed when tried again as it is: the database was
/// unreachable or busy, or PostgreSQL cancelled the transaction (serialization failure,
/// deadlock). Anything else (a constraint, a refused value) fails the same way every time.
fn retryable(err: &StoreError) -> bool {
    if err.is_unavailable() {
        return true;
    }
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => db
            .code()
            .is_some_and(|c| matches!(c.as_ref(), "40001" | "40P01")),
        _ => false,
    }
}

enum Command {
    Write(Box<CallWrite>),
    Flush(oneshot::Sender<Result<(), StoreError>>),
    Shutdown(oneshot::Sender<Result<WriterStats, StoreError>>),
}

/// Collects tracker updates and writes them in batches: one transaction per `max_rows` rows
/// or per `max_delay`, whichever comes first.
///
/// The queue is bounded: when the database falls behind (or is down), [`BatchWriter::write`]
/// waits, so producers slow down instead of memory growing. A failed transaction keeps its
/// rows and is tried again after `retry_delay`; while it keeps failing with a full batch, no
/// new updates are taken. That holds only while the failure is one retrying may fix (the
/// database is down or busy): a batch refused for any other reason is written again one
/// update at a time, and an update refused on its own becomes a [`DeadLetter`] (counted in
/// [`WriterStats::dead_letters`], logged, handed to [`BatchConfig::dead_letters`]), so one
/// poison update never holds up the rest. Writes are idempotent (see [`CallWrite`]), so a batch that is
/// re-applied after a crash leaves the same rows.
///
/// Dropping the writer without [`BatchWriter::shutdown`] still writes what is pending, in the
/// background; `shutdown` waits for it and reports the outcome.
#[derive(Debug)]
pub struct BatchWriter {
    tx: mpsc::Sender<Command>,
    task: JoinHandle<()>,
    stats: Arc<Counters>,
}

struct Worker {
    store: Store,
    config: BatchConfig,
    pending: Vec<CallWrite>,
    rows: usize,
    stats: Arc<Counters>,
}

impl Worker {
    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        match self.store.write_calls(&self.pending).await {
            Ok(_) => {
                Counters::add(&self.stats.batches, 1);
                Counters::add(&self.stats.rows, self.rows as u64);
                self.pending.clear();
                self.rows = 0;
                Ok(())
            }
            Err(e) if retryable(&e) => {
                Counters::add(&self.stats.failures, 1);
                tracing::warn!(error = %e, rows = self.rows, "batch write failed; will retry");
                Err(e)
            }
            Err(e) => {
                Counters::add(&self.stats.failures, 1);
                tracing::warn!(error = %e, rows = self.rows, "batch refused; writing its updates one by one");
                self.isolate().await
            }
        }
    }

    /// Writes the pending updates one at a time after their batch was refused for a reason
    /// retrying does not fix: each one refused on its own is dead-lettered, the rest are
    /// written. Stops (keeping the rest pending) if the database becomes unavailable.
    async fn isolate(&mut self) -> Result<(), StoreError> {
        let mut rest = std::mem::take(&mut self.pending).into_iter();
        while let Some(write) = rest.next() {
            match self.store.write_calls(std::slice::from_ref(&write)).await {
                Ok(_) => {
                    Counters::add(&self.stats.batches, 1);
                    Counters::add(&self.stats.rows, write.rows() as u64);
                }
                Err(e) if retryable(&e) => {
                    Counters::add(&self.stats.failures, 1);
                    self.pending.push(write);
                    self.pending.extend(rest);
                    self.rows = self.pending.iter().map(CallWrite::rows).sum();
                    return Err(e);
                }
                Err(error) => {
                    Counters::add(&self.stats.failures, 1);
                    self.dead_letter(write, error);
                }
            }
        }
        self.rows = 0;
        Ok(())
    }

    fn dead_letter(&self, write: CallWrite, error: StoreError) {
        Counters::add(&self.stats.dead_letters, 1);
        tracing::error!(
            call_id = %write.call.call_id(),
            tenant = %write.call.tenant_id,
            error = %error,
            source = ?std::error::Error::source(&error),
            "call update refused by the database; dead-lettered"
        );
        if let Some(queue) = &self.config.dead_letters
            && queue.try_send(DeadLetter { write, error }).is_err()
        {
            tracing::warn!("dead-letter queue full or closed; the dead letter is dropped");
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut deadline: Option<Instant> = None;
        loop {
            if self.rows >= self.config.max_rows {
                // Full: write before taking more, which is what pushes back on producers.
                if self.flush().await.is_err() {
                    tokio::time::sleep(self.config.retry_delay).await;
                    continue;
                }
                deadline = None;
            }
            let cmd = tokio::select! {
                cmd = rx.recv() => cmd,
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    deadline = match self.flush().await {
                        Ok(()) => None,
                        Err(_) => Some(Instant::now() + self.config.retry_delay),
                    };
                    continue;
                }
            };
            match cmd {
                Some(Command::Write(w)) => {
                    self.rows += w.rows();
                    self.pending.push(*w);
                    if deadline.is_none() {
                        deadline = Some(Instant::now() + self.config.max_delay);
                    }
                }
                Some(Command::Flush(reply)) => {
                    let result = self.flush().await;
                    if result.is_ok() {
                        deadline = None;
                    }
                    let _ = reply.send(result);
                }
                Some(Command::Shutdown(reply)) => {
                    rx.close();
                    while let Some(cmd) = rx.recv().await {
                        match cmd {
                            Command::Write(w) => {
                                self.rows += w.rows();
                                self.pending.push(*w);
                            }
                            Command::Flush(r) => {
                                let _ = r.send(Ok(()));
                            }
                            Command::Shutdown(r) => {
                                let _ = r.send(Err(StoreError::WriterClosed));
                            }
                        }
                    }
                    let result = self.flush().await.map(|()| self.stats.snapshot());
                    let _ = reply.send(result);
                    return;
                }
                None => {
                    // Every handle is gone: write what is left, trying a few times.
                    for _ in 0..5 {
                        if self.flush().await.is_ok() {
                            return;
                        }
                        tokio::time::sleep(self.config.retry_delay).await;
                    }
                    tracing::error!(rows = self.rows, "batch writer dropped with unwritten rows");
                    return;
                }
            }
        }
    }
}

impl BatchWriter {
    /// Starts a writer on the current tokio runtime.
    pub fn spawn(store: Store, config: BatchConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let stats = Arc::new(Counters::default());
        let worker = Worker {
            store,
            config,
            pending: Vec::new(),
            rows: 0,
            stats: Arc::clone(&stats),
        };
        let task = tokio::spawn(worker.run(rx));
        Self { tx, task, stats }
    }

    /// The counters so far (for metrics); [`BatchWriter::shutdown`] returns the final ones.
    pub fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    /// Queues an update, waiting while the queue is full.
    ///
    /// # Errors
    /// [`StoreError::WriterClosed`] when the writer has stopped.
    ///
    /// # Cancel safety
    /// Cancelling the call before it returns means the update was not queued.
    pub async fn write(&self, write: CallWrite) -> Result<(), StoreError> {
        self.tx
            .send(Command::Write(Box::new(write)))
            .await
            .map_err(|_| StoreError::WriterClosed)
    }

    /// Queues an update without waiting.
    ///
    /// # Errors
    /// [`StoreError::WriterFull`] when the queue is full, [`StoreError::WriterClosed`] when the
    /// writer has stopped.
    pub fn try_write(&self, write: CallWrite) -> Result<(), StoreError> {
        self.tx
            .try_send(Command::Write(Box::new(write)))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::WriterFull,
                mpsc::error::TrySendError::Closed(_) => StoreError::WriterClosed,
            })
    }

    /// Writes everything queued before this call, now, and reports the outcome.
    ///
    /// # Errors
    /// The write's error (the rows stay pending and are tried again), or
    /// [`StoreError::WriterClosed`].
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Flush(reply))
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        rx.await.map_err(|_| StoreError::WriterClosed)?
    }

    /// Stops taking updates, writes every pending one and returns the counters.
    ///
    /// # Errors
    /// The final write's error (those rows are lost), or [`StoreError::WriterClosed`].
    pub async fn shutdown(self) -> Result<WriterStats, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Shutdown(reply))
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        let result = rx.await.map_err(|_| StoreError::WriterClosed)?;
        let _ = self.task.await;
        result
    }

    /// Stops at once, dropping whatever is pending: what a crash does. Rows already
    /// committed stay; re-applying every update afterwards gives the same rows as if nothing
    /// had happened.
    pub fn abort(self) {
        self.task.abort();
    }
}
