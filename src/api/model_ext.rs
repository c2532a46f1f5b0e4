//! Convenience accessors on the generated models: typed states instead of raw integers, and
//! the hooks the [`helpers`](super::helpers) need (VM state, pool page length).
//!
//! Compiled only once the models are generated (`cfg(opennebula_models)`, set by build.rs).
//! The field names follow the models generator's naming (`STATE` → `state`, `LCM_STATE` →
//! `lcm_state`, `TYPE` → `type_`, pool members by element name).

use super::acl::{AclError, AclRule};
use super::helpers::{ObjectStatus, PoolPage, VmStatus};
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

impl ObjectStatus for models::Host {
    fn state_code(&self) -> i64 {
        self.state
    }
}

impl ObjectStatus for models::Image {
    fn state_code(&self) -> i64 {
        self.state
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

impl models::Acl {
    /// The rule decoded from the hex numbers ACL_POOL prints (see [`AclRule::from_hex`]).
    pub fn rule(&self) -> Result<AclRule, AclError> {
        AclRule::from_hex(&self.user, &self.resource, &self.rights, &self.zone)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::FromXml;

    #[test]
    fn typed_states_of_the_models() {
        let vm =
            models::Vm::from_xml("<VM><ID>4</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE></VM>")
                .unwrap();
        assert_eq!(
            (vm.state(), vm.lcm_state()),
            (VmState::Active, LcmState::Running)
        );
        assert_eq!(vm.vm_state(), VmState::Active);
        let host = models::Host::from_xml("<HOST><ID>0</ID><STATE>2</STATE></HOST>").unwrap();
        assert_eq!(host.state(), HostState::Monitored);
        let app = models::MarketPlaceApp::from_xml(
            "<MARKETPLACEAPP><ID>1</ID><TYPE>1</TYPE><STATE>1</STATE></MARKETPLACEAPP>",
        )
        .unwrap();
        assert_eq!(
            (app.state(), app.app_type()),
            (MarketPlaceAppState::Ready, MarketPlaceAppType::Image)
        );
        let pool =
            models::VmPool::from_xml("<VM_POOL><VM><ID>2</ID></VM><VM><ID>1</ID></VM></VM_POOL>")
                .unwrap();
        assert_eq!(pool.page_len(), 2);
        let acl = models::AclPool::from_xml(
            "<ACL_POOL><ACL><ID>3</ID><USER>200000001</USER><RESOURCE>2400000000</RESOURCE>\
             <RIGHTS>2</RIGHTS><ZONE>100000000</ZONE><STRING>@1 HOST/* MANAGE #0</STRING>\
             </ACL></ACL_POOL>",
        )
        .unwrap();
        let rule = acl.acl[0].rule().unwrap();
        assert_eq!(rule.to_string(), acl.acl[0].string);
    }
}
