//! Single flight: concurrent requests for one key share one run of the work.
//!
//! A page that shows one image at several places, or a burst of browsers after a deploy, asks
//! for the same missing rendition many times at once; it is rendered once and every request
//! gets the result. The entry for a key lives only while someone waits on it: the next request
//! after that starts afresh (the CDN or the store answers it by then).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

type Flight<T> = Arc<OnceCell<T>>;

/// The runs in flight, by key.
pub struct Flights<T> {
    inflight: Mutex<HashMap<String, Flight<T>>>,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            inflight: Mutex::default(),
        }
    }
}

impl<T: Clone> Flights<T> {
    /// Runs `work` for `key`, or waits for the run already in flight for it. Returns the
    /// result and whether this call ran the work (`false`: it joined another's run).
    pub async fn run<F>(&self, key: &str, work: impl FnOnce() -> F) -> (T, bool)
    where
        F: Future<Output = T>,
    {
        let flight = {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_string()).or_default().clone()
        };
        // Removes the entry when this call is done, however it ends (even when dropped).
        let _leave = Leave {
            flights: self,
            key,
            flight: &flight,
        };
        let mut ran = false;
        let result = flight
            .get_or_init(|| {
                ran = true;
                work()
            })
            .await
            .clone();
        (result, ran)
    }

    /// Whether no key has a run in flight or a waiter (tests).
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }
}

/// Removes a finished (or abandoned) flight from the map.
struct Leave<'a, T> {
    flights: &'a Flights<T>,
    key: &'a str,
    flight: &'a Flight<T>,
}

impl<T> Drop for Leave<'_, T> {
    fn drop(&mut self) {
        let mut map = self
            .flights
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Only our own flight, and only once nobody else is waiting on it.
        if map
            .get(self.key)
            .is_some_and(|f| Arc::ptr_eq(f, self.flight))
            && Arc::strong_count(self.flight) <= 2
        {
            map.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn concurrent_calls_share_one_run_and_leave_nothing_behind() {
        let flights = Flights::<u32>::default();
        let runs = AtomicU32::new(0);
        let work = || async {
            runs.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
            7
        };
        let (a, b, c) = tokio::join!(
            flights.run("k", work),
            flights.run("k", work),
            flights.run("other", work)
        );
        assert_eq!((a.0, b.0, c.0), (7, 7, 7));
        assert_eq!(u32::from(a.1) + u32::from(b.1), 1, "one of the two ran it");
        assert!(c.1);
        assert_eq!(runs.load(Ordering::Relaxed), 2);
        assert!(flights.is_empty());
        let (_, ran) = flights.run("k", work).await;
        assert!(ran, "a later call runs afresh");
    }
}
