//! The object types of oned and the names each uses in methods, documents and messages.

/// A pool object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    User,
    Group,
    Host,
    Cluster,
    Datastore,
    Image,
    Template,
    Vm,
    Vnet,
    VnTemplate,
    SecGroup,
    VRouter,
    VmGroup,
    Zone,
    Vdc,
    Document,
    Market,
    MarketApp,
    Hook,
    BackupJob,
}

pub(crate) const ALL_KINDS: [Kind; 20] = [
    Kind::User,
    Kind::Group,
    Kind::Host,
    Kind::Cluster,
    Kind::Datastore,
    Kind::Image,
    Kind::Template,
    Kind::Vm,
    Kind::Vnet,
    Kind::VnTemplate,
    Kind::SecGroup,
    Kind::VRouter,
    Kind::VmGroup,
    Kind::Zone,
    Kind::Vdc,
    Kind::Document,
    Kind::Market,
    Kind::MarketApp,
    Kind::Hook,
    Kind::BackupJob,
];

impl Kind {
    /// The method prefix: `one.<prefix>.info`, `one.<prefix>pool.info`.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Host => "host",
            Kind::Cluster => "cluster",
            Kind::Datastore => "datastore",
            Kind::Image => "image",
            Kind::Template => "template",
            Kind::Vm => "vm",
            Kind::Vnet => "vn",
            Kind::VnTemplate => "vntemplate",
            Kind::SecGroup => "secgroup",
            Kind::VRouter => "vrouter",
            Kind::VmGroup => "vmgroup",
            Kind::Zone => "zone",
            Kind::Vdc => "vdc",
            Kind::Document => "document",
            Kind::Market => "market",
            Kind::MarketApp => "marketapp",
            Kind::Hook => "hook",
            Kind::BackupJob => "backupjob",
        }
    }

    pub(crate) fn from_prefix(prefix: &str) -> Option<Kind> {
        ALL_KINDS.iter().copied().find(|k| k.prefix() == prefix)
    }

    /// The root element of its document.
    pub(crate) fn root(self) -> &'static str {
        match self {
            Kind::User => "USER",
            Kind::Group => "GROUP",
            Kind::Host => "HOST",
            Kind::Cluster => "CLUSTER",
            Kind::Datastore => "DATASTORE",
            Kind::Image => "IMAGE",
            Kind::Template => "VMTEMPLATE",
            Kind::Vm => "VM",
            Kind::Vnet => "VNET",
            Kind::VnTemplate => "VNTEMPLATE",
            Kind::SecGroup => "SECURITY_GROUP",
            Kind::VRouter => "VROUTER",
            Kind::VmGroup => "VM_GROUP",
            Kind::Zone => "ZONE",
            Kind::Vdc => "VDC",
            Kind::Document => "DOCUMENT",
            Kind::Market => "MARKETPLACE",
            Kind::MarketApp => "MARKETPLACEAPP",
            Kind::Hook => "HOOK",
            Kind::BackupJob => "BACKUPJOB",
        }
    }

    /// How oned names the type in `"Error getting <name> [id]."`
    pub(crate) fn display(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Host => "host",
            Kind::Cluster => "cluster",
            Kind::Datastore => "datastore",
            Kind::Image => "image",
            Kind::Template => "virtual machine template",
            Kind::Vm => "virtual machine",
            Kind::Vnet => "virtual network",
            Kind::VnTemplate => "virtual network template",
            Kind::SecGroup => "security group",
            Kind::VRouter => "virtual router",
            Kind::VmGroup => "vm group",
            Kind::Zone => "zone",
            Kind::Vdc => "VDC",
            Kind::Document => "document",
            Kind::Market => "marketplace",
            Kind::MarketApp => "marketplaceapp",
            Kind::Hook => "hook",
            Kind::BackupJob => "backup job",
        }
    }

    /// The object type of ACL rules and authorization / lock messages.
    pub(crate) fn auth_name(self) -> &'static str {
        match self {
            Kind::User => "USER",
            Kind::Group => "GROUP",
            Kind::Host => "HOST",
            Kind::Cluster => "CLUSTER",
            Kind::Datastore => "DATASTORE",
            Kind::Image => "IMAGE",
            Kind::Template => "TEMPLATE",
            Kind::Vm => "VM",
            Kind::Vnet => "NET",
            Kind::VnTemplate => "VNTEMPLATE",
            Kind::SecGroup => "SECGROUP",
            Kind::VRouter => "VROUTER",
            Kind::VmGroup => "VMGROUP",
            Kind::Zone => "ZONE",
            Kind::Vdc => "VDC",
            Kind::Document => "DOCUMENT",
            Kind::Market => "MARKETPLACE",
            Kind::MarketApp => "MARKETPLACEAPP",
            Kind::Hook => "HOOK",
            Kind::BackupJob => "BACKUPJOB",
        }
    }

    /// How the type appears in `"NAME is already taken by <name> <id>."`
    pub(crate) fn clash_name(self) -> &'static str {
        match self {
            Kind::VnTemplate => "VN TEMPLATE",
            Kind::SecGroup => "SecurityGroup",
            Kind::Vdc => "Vdc",
            Kind::Hook => "Hook",
            other => other.auth_name(),
        }
    }

    /// The first id oned gives to objects of this type.
    pub(crate) fn first_id(self) -> i32 {
        match self {
            Kind::User => 2,
            Kind::Group
            | Kind::Cluster
            | Kind::Datastore
            | Kind::SecGroup
            | Kind::Vdc
            | Kind::Market => 100,
            _ => 0,
        }
    }

    /// Whether objects have an owner, a group and permissions.
    pub(crate) fn owned(self) -> bool {
        !matches!(
            self,
            Kind::User
                | Kind::Group
                | Kind::Host
                | Kind::Cluster
                | Kind::Zone
                | Kind::Vdc
                | Kind::Hook
        )
    }

    /// Whether allocating one is reserved to administrators.
    pub(crate) fn admin_create(self) -> bool {
        matches!(
            self,
            Kind::User
                | Kind::Group
                | Kind::Host
                | Kind::Cluster
                | Kind::Datastore
                | Kind::Zone
                | Kind::Vdc
                | Kind::Market
                | Kind::Hook
                | Kind::Vnet
        )
    }

    /// Whether names are unique among all objects (else per owner), or not at all (VMs).
    pub(crate) fn name_scope(self) -> NameScope {
        match self {
            Kind::Vm => NameScope::None,
            k if k.owned() && !matches!(k, Kind::Datastore | Kind::Market | Kind::SecGroup) => {
                NameScope::Owner
            }
            _ => NameScope::Global,
        }
    }

    /// Whether the type supports lock/unlock.
    pub(crate) fn lockable(self) -> bool {
        !matches!(
            self,
            Kind::User
                | Kind::Group
                | Kind::Host
                | Kind::Cluster
                | Kind::Datastore
                | Kind::Zone
                | Kind::Vdc
                | Kind::SecGroup
                | Kind::Market
        )
    }
}

/// Where object names must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameScope {
    Global,
    Owner,
    None,
}
