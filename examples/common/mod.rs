//! How every example connects: to the OpenNebula front-end named by `ONE_XMLRPC` (with the
//! session from the `ONE_AUTH` file, as OpenNebula's CLI does) when it is set, otherwise to a
//! fresh in-process test server that behaves like a newly installed `oned`.
//!
//! ```text
//! cargo run --example quickstart                                  # in-process test server
//! ONE_XMLRPC=http://one:2633/RPC2 cargo run --example quickstart  # a real cloud
//! ```
//!
//! Keep the returned server alive (bind it to `_server`, not `_`) for as long as the client is
//! used: dropping it stops the test server.

// Each example uses one of the two flavours.
#![allow(dead_code)]

#[cfg(feature = "blocking")]
use opennebula_test_server::BlockingTestServer;
use opennebula_test_server::TestServer;

/// Whether `ONE_XMLRPC` names a real front-end.
fn real_cloud() -> bool {
    std::env::var("ONE_XMLRPC").is_ok_and(|url| !url.trim().is_empty())
}

/// An async client, and the test server it talks to unless `ONE_XMLRPC` is set.
pub async fn connect(
) -> Result<(opennebula::Client, Option<TestServer>), Box<dyn std::error::Error>> {
    if real_cloud() {
        let client = opennebula::Client::from_env()?;
        println!("Connected to {}", client.endpoint());
        return Ok((client, None));
    }
    let server = TestServer::start().await?;
    println!(
        "Started an in-process OpenNebula test server at {}",
        server.url()
    );
    Ok((server.client()?, Some(server)))
}

/// A blocking client, and the test server it talks to unless `ONE_XMLRPC` is set.
#[cfg(feature = "blocking")]
pub fn connect_blocking(
) -> Result<(opennebula::blocking::Client, Option<BlockingTestServer>), Box<dyn std::error::Error>>
{
    if real_cloud() {
        let client = opennebula::blocking::Client::from_env()?;
        println!("Connected to {}", client.endpoint());
        return Ok((client, None));
    }
    let server = BlockingTestServer::start()?;
    println!(
        "Started an in-process OpenNebula test server at {}",
        server.url()
    );
    Ok((server.client()?, Some(server)))
}
