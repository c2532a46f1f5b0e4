//! Convenience accessors on the generated models: typed states instead of raw integers, and
//! the hooks the [`helpers`](super::helpers) need (VM state, pool page length).
//!
//! Compiled only once the models are generated (`cfg(opennebula_models)`, set by build.rs).
//! The field names follow the models generator's naming (`STATE` → `state`, `LCM_STATE` →
//! `lcm_state`, `TYPE` → `type_`, pool members by element name).

use super::helpers::{PoolPage, VmStatus};
use super::{
    DatastoreState, DatastoreType, HostState, ImageState, ImageType, LcmState, MarketPlaceAppState,
    MarketPlaceAppType, VirtualNetworkState, VmState,
};
use crate::models;

impl models::Vm {
    /// `STATE` as a [`VmState`].
    pub fn state(&self) -> VmState {
        VmState::from(self.state)
    }

    /// `LCM_STATE` as an [`LcmState`].
    pub fn lcm_state(&self) -> LcmState {
        LcmState::from(self.lcm_state)
    }
}

impl VmStatus for models::Vm {
    fn vm_state(&self) -> VmState {
        self.state()
    }
    fn vm_lcm_state(&self) -> LcmState {
        self.lcm_state()
    }
}

impl models::Host {
    /// `STATE` as a [`HostState`].
    pub fn state(&self) -> HostState {
        HostState::from(self.state)
    }
}

impl models::Image {
    /// `STATE` as an [`ImageState`].
    pub fn state(&self) -> ImageState {
        ImageState::from(self.state)
    }

    /// `TYPE` as an [`ImageType`].
    pub fn image_type(&self) -> ImageType {
        ImageType::from(self.type_)
    }
}

impl models::Datastore {
    /// `STATE` as a [`DatastoreState`].
    pub fn state(&self) -> DatastoreState {
        DatastoreState::from(self.state)
    }

    /// `TYPE` as a [`DatastoreType`].
    pub fn datastore_type(&self) -> DatastoreType {
        DatastoreType::from(self.type_)
    }
}

impl models::MarketPlaceApp {
    /// `STATE` as a [`MarketPlaceAppState`].
    pub fn state(&self) -> MarketPlaceAppState {
        MarketPlaceAppState::from(self.state)
    }

    /// `TYPE` as a [`MarketPlaceAppType`].
    pub fn app_type(&self) -> MarketPlaceAppType {
        MarketPlaceAppType::from(self.type_)
    }
}

impl models::VirtualNetwork {
    /// `STATE` as a [`VirtualNetworkState`].
    pub fn state(&self) -> VirtualNetworkState {
        VirtualNetworkState::from(self.state)
    }
}

macro_rules! pool_page {
    ($($pool:ident . $field:ident),* $(,)?) => {$(
        impl PoolPage for models::$pool {
            fn page_len(&self) -> usize {
                self.$field.len()
            }
        }
    )*};
}
pool_page!(
    VmPool.vm,
    ImagePool.image,
    VmTemplatePool.vmtemplate,
    VirtualNetworkPool.vnet,
    DocumentPool.document,
    SecurityGroupPool.security_group,
);
