//! What oned's drivers do on their own between calls, with the dummy drivers of a test
//! front-end: the information driver monitors new hosts (src/im/, the dummy IM driver's
//! probes), the datastore driver copies images in (src/image/ImageManagerDriver.cc) and the
//! marketplace driver exports apps. Time is counted in calls.

use super::prelude::*;
use opennebula::api::{HostState, ImageState, MarketPlaceAppState};

/// What the dummy drivers finish between calls: hosts in INIT are monitored by the dummy IM
/// driver (800 CPU and 16 GiB), images being copied become READY and marketplace apps being
/// exported READY, one call after they were created (`force`: at once).
pub(crate) fn settle(oned: &mut Oned, force: bool) {
    let now = oned.now();
    for app in oned.pool_mut(Kind::MarketApp).values_mut() {
        if let Ext::MarketApp(data) = &mut app.ext {
            if data.state == MarketPlaceAppState::Locked {
                if data.settle_ticks > 1 && !force {
                    data.settle_ticks -= 1;
                    continue;
                }
                data.state = MarketPlaceAppState::Ready;
            }
        }
    }
    for image in oned.pool_mut(Kind::Image).values_mut() {
        if let Ext::Image(data) = &mut image.ext {
            if data.state == ImageState::Locked {
                if data.settle_ticks > 1 && !force {
                    data.settle_ticks -= 1;
                    continue;
                }
                data.state = if data.path.starts_with("/etc/") {
                    ImageState::Error
                } else {
                    ImageState::Ready
                };
                data.prev_state = data.state;
                if data.state == ImageState::Error {
                    image.template.set(
                        "ERROR",
                        format!(
                            "{} : Error copying image in the datastore: Not allowed to copy \
                             image from {}, check RESTRICTED_DIRS in your datastore",
                            super::ctime(now),
                            data.path
                        ),
                    );
                }
                if data.state == ImageState::Ready && data.source.is_empty() {
                    data.source = format!(
                        "/var/lib/one//datastores/{}/{}",
                        data.datastore_id,
                        &super::sha256_hex(&format!("{}{}{}", image.id, image.name, image.regtime))
                            [..32]
                    );
                }
                if data.format.is_empty() && data.state == ImageState::Ready {
                    data.format = "raw".into();
                }
            }
        }
    }
    let mut monitored = Vec::new();
    for host in oned.pool_mut(Kind::Host).values_mut() {
        if let Ext::Host(data) = &mut host.ext {
            if data.state == HostState::Init {
                if data.settle_ticks > 1 && !force {
                    data.settle_ticks -= 1;
                    continue;
                }
                data.state = HostState::Monitored;
                data.prev_state = HostState::Monitored;
                data.total_cpu = 800;
                data.total_mem = 16 * 1024 * 1024;
                if !data.probed && data.im_mad == "dummy" {
                    // The first report of the dummy information driver describes the
                    // host's fake hardware (other drivers are not run by the test server).
                    data.probed = true;
                    host.template.set("HOSTNAME", host.name.clone());
                    for (name, value) in super::host::dummy::TEMPLATE {
                        host.template.set(name, value);
                    }
                }
                monitored.push(host.id);
            }
        }
    }
    for id in monitored {
        super::host::state_changed(oned, id);
    }
}
