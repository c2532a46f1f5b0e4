//! PyONE's "Structured Parameters" with a template in OpenNebula's own syntax, for two
//! entries with the same name:
//!
//! ```python
//! one.template.allocate(
//!   '''NAME="test100"
//!      MEMORY="1024"
//!      DISK=[ IMAGE_ID= "1" ]
//!      DISK=[ IMAGE_ID= "2" ]
//!      CPU="1"
//!      VCPU="2"
//!   ''')
//! ```
//!
//! A `&str` is sent as written. (A `Template` holds repeated names too, so the raw form is a
//! choice, not a necessity: the `template!` version below is the same template.)
//!
//! ```text
//! cargo run --example pyone_template_allocate_raw
//! ```

mod common;

use opennebula::template;
use opennebula::template::Template;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (one, _server) = common::connect().await?;

    let template_id = one
        .template()
        .allocate(
            r#"NAME="test100"
               MEMORY="1024"
               DISK=[ IMAGE_ID= "1" ]
               DISK=[ IMAGE_ID= "2" ]
               CPU="1"
               VCPU="2"
            "#,
        )
        .await?;
    let allocated = one.template().info(template_id).await?;
    let images: Vec<&str> = allocated
        .template
        .vectors("DISK")
        .filter_map(|disk| disk.get("IMAGE_ID"))
        .collect();
    println!(
        "Template {template_id} ({}) uses images {images:?}",
        allocated.name
    );
    assert_eq!(images, ["1", "2"]);

    // The same template built in code, with the same two DISKs:
    let built: Template = template! {
        NAME = "test101", MEMORY = 1024,
        DISK = [IMAGE_ID = 1], DISK = [IMAGE_ID = 2],
        CPU = 1, VCPU = 2,
    };
    let second = one.template().allocate(&built).await?;
    println!(
        "Template {second} built with template! has {} DISKs",
        built.vectors("DISK").count()
    );

    one.template().delete(template_id).await?;
    one.template().delete(second).await?;
    Ok(())
}
