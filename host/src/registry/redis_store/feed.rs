//! Change notifications between gateway nodes: every saved change is published on a Redis
//! channel; [`ChangeFeed::run`] listens on a connection of its own and has the node check
//! for a newer registry after each message and at least every interval, so a message missed
//! during a restart or a network blip is made up for by the next check.

use std::time::Duration;

use redis::Connection;

/// A subscription to the registry's changes.
pub struct ChangeFeed {
    client: redis::Client,
    channel: String,
}

impl ChangeFeed {
    pub(super) fn new(client: redis::Client, channel: String) -> Self {
        ChangeFeed { client, channel }
    }

    /// Calls `check` after every change message, and at least every `interval` (also
    /// while Redis is unreachable, reconnecting meanwhile); returns when `check` returns
    /// false.
    pub fn run(self, interval: Duration, mut check: impl FnMut() -> bool) {
        let mut down = false;
        loop {
            let mut connection = match self.subscribe_connection(interval) {
                Ok(connection) => connection,
                Err(error) => {
                    if !down {
                        tracing::warn!(%error, "registry change feed lost; retrying every {} ms", interval.as_millis());
                        down = true;
                    }
                    std::thread::sleep(interval);
                    if !check() {
                        return;
                    }
                    continue;
                }
            };
            let mut subscription = connection.as_pubsub();
            if let Err(error) = subscription.subscribe(&self.channel) {
                if !down {
                    tracing::warn!(%error, "cannot subscribe to registry changes; retrying");
                    down = true;
                }
                drop(subscription);
                std::thread::sleep(interval);
                continue;
            }
            if down {
                // Every way out of the loop below sets it again.
                tracing::info!("registry change feed back");
            }
            // Whatever was published while not subscribed.
            if !check() {
                return;
            }
            loop {
                match subscription.get_message() {
                    Ok(_) => {}
                    Err(error) if error.is_timeout() => {}
                    Err(error) => {
                        tracing::warn!(%error, "registry change feed lost; reconnecting");
                        down = true;
                        break;
                    }
                }
                if !check() {
                    return;
                }
            }
        }
    }

    fn subscribe_connection(&self, interval: Duration) -> redis::RedisResult<Connection> {
        let connection = self
            .client
            .get_connection_with_timeout(interval.max(Duration::from_secs(1)))?;
        connection.set_read_timeout(Some(interval))?;
        connection.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(connection)
    }
}
