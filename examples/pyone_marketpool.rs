//! PyONE's "Returned Objects" example:
//!
//! ```python
//! marketpool = one.marketpool.info()
//! m0 = marketpool.MARKETPLACE[0]
//! print "Markeplace name is " + m0.NAME
//! ```
//!
//! ```text
//! cargo run --example pyone_marketpool
//! ```

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect_blocking()?;

    let marketpool = one.marketpool().info()?;
    let m0 = &marketpool.marketplace[0];
    println!("Marketplace name is {}", m0.name);

    // Every field of the XSD is a typed member:
    for market in &marketpool.marketplace {
        println!(
            "  {:>3}  {:<20} MARKET_MAD={:<16} {} apps",
            market.id,
            market.name,
            market.market_mad,
            market.marketplaceapps.id.len()
        );
    }
    Ok(())
}
