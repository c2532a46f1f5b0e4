//! PyONE's constants:
//!
//! ```python
//! from pyone import MARKETPLACEAPP_STATES
//! if app.STATE == MARKETPLACEAPP_STATES.READY:
//!   # action that assumes app ready
//! ```
//!
//! Every state constant is an enum: `app.state() == MarketPlaceAppState::Ready`, with the
//! OpenNebula names as `Display` and the raw number still reachable (`app.state`).
//!
//! ```text
//! cargo run --example pyone_marketapp_states
//! ```

mod common;

use opennebula::api::MarketPlaceAppState;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;

    // A marketplace of our own (an HTTP one) with one appliance.
    let market_id = one
        .market()
        .allocate(
            r#"NAME = "pyone-market"
               MARKET_MAD = "http"
               BASE_URL = "http://127.0.0.1:8099/"
               PUBLIC_DIR = "/var/tmp/pyone-market""#,
        )
        .await?;
    let app_id = one
        .marketapp()
        .allocate(
            r#"NAME = "pyone-app" ORIGIN_ID = "-1" SIZE = "1""#,
            market_id,
        )
        .await?;

    let app = one.marketapp().info(app_id).await?;
    println!(
        "App {} ({}) is {} (STATE {})",
        app.id,
        app.name,
        app.state(),
        app.state
    );
    if app.state() == MarketPlaceAppState::Ready {
        println!("The app is READY: it can be exported");
    } else {
        println!("The app is not READY yet");
    }

    // Every known state, as OpenNebula names them:
    let names: Vec<String> = MarketPlaceAppState::ALL
        .iter()
        .map(|s| s.to_string())
        .collect();
    println!("MARKETPLACEAPP_STATES: {}", names.join(", "));

    one.marketapp().delete(app_id).await?;
    one.market().delete(market_id).await?;
    Ok(())
}
