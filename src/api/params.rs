//! Typed parameters that are not plain enums: pool filters, the vmpool state filter and
//! `chmod` permissions.

use std::fmt;

use super::VmState;

/// Which objects a pool `info` call lists (the `filter` parameter).
///
/// Converts from the raw number (`-4..=-1`, or a user ID `>= 0`), so `-2` can be passed where a
/// `PoolFilter` is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolFilter {
    /// `-4`: objects of the user's primary group.
    Group,
    /// `-3`: objects the user owns.
    Mine,
    /// `-2`: every object the user may see.
    All,
    /// `-1`: objects the user owns and those of the user's groups.
    MineAndGroup,
    /// `>= 0`: objects owned by this user ID.
    User(i32),
    /// Any other negative number, sent as is.
    Other(i32),
}

impl PoolFilter {
    /// The number sent to oned.
    pub fn raw(self) -> i32 {
        match self {
            PoolFilter::Group => -4,
            PoolFilter::Mine => -3,
            PoolFilter::All => -2,
            PoolFilter::MineAndGroup => -1,
            PoolFilter::User(id) | PoolFilter::Other(id) => id,
        }
    }
}

impl From<i32> for PoolFilter {
    fn from(raw: i32) -> Self {
        match raw {
            -4 => PoolFilter::Group,
            -3 => PoolFilter::Mine,
            -2 => PoolFilter::All,
            -1 => PoolFilter::MineAndGroup,
            id if id >= 0 => PoolFilter::User(id),
            other => PoolFilter::Other(other),
        }
    }
}

/// Which VMs `one.vmpool.info` lists by state (the `state` parameter).
///
/// Converts from the raw number (`-2`, `-1`, or a [`VmState`] code) and from [`VmState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmStateFilter {
    /// `-2`: every VM, DONE ones included.
    Any,
    /// `-1`: every VM except DONE ones (what the CLI shows).
    NotDone,
    /// Only VMs in this state.
    State(VmState),
}

impl VmStateFilter {
    /// The number sent to oned.
    pub fn raw(self) -> i32 {
        match self {
            VmStateFilter::Any => -2,
            VmStateFilter::NotDone => -1,
            VmStateFilter::State(state) => i32::try_from(state.code()).unwrap_or(i32::MIN),
        }
    }
}

impl From<i32> for VmStateFilter {
    fn from(raw: i32) -> Self {
        match raw {
            -2 => VmStateFilter::Any,
            -1 => VmStateFilter::NotDone,
            code => VmStateFilter::State(VmState::from(code)),
        }
    }
}

impl From<VmState> for VmStateFilter {
    fn from(state: VmState) -> Self {
        VmStateFilter::State(state)
    }
}

/// The use/manage/admin bits of one class of users in [`Permissions`]; `None` leaves a bit as
/// it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet {
    /// USE right.
    pub use_: Option<bool>,
    /// MANAGE right.
    pub manage: Option<bool>,
    /// ADMIN right.
    pub admin: Option<bool>,
}

impl PermissionSet {
    /// Leaves all three bits unchanged.
    pub const UNCHANGED: PermissionSet = PermissionSet {
        use_: None,
        manage: None,
        admin: None,
    };

    /// All three bits set from an octal digit (`4` use, `2` manage, `1` admin), as `chmod`.
    pub fn from_octal_digit(digit: u8) -> Self {
        PermissionSet {
            use_: Some(digit & 4 != 0),
            manage: Some(digit & 2 != 0),
            admin: Some(digit & 1 != 0),
        }
    }
}

/// The nine permission bits of `one.*.chmod`: owner, group and others, each with use, manage
/// and admin. A bit left `None` is sent as `-1` and keeps its current value.
///
/// ```
/// use opennebula::api::Permissions;
/// // like `onevm chmod 42 640`
/// let p = Permissions::from_octal(0o640).unwrap();
/// assert_eq!(p.to_wire(), [1, 1, 0, 1, 0, 0, 0, 0, 0]);
/// assert_eq!(Permissions::UNCHANGED.to_wire(), [-1; 9]);
/// assert_eq!(p.to_string(), "um- u-- ---");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions {
    /// The owner's rights.
    pub owner: PermissionSet,
    /// The group's rights.
    pub group: PermissionSet,
    /// Everyone else's rights.
    pub other: PermissionSet,
}

/// An octal permission value above `0o777`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("permissions {0:#o} are out of range (at most 0o777)")]
pub struct PermissionsOutOfRange(pub u32);

impl Permissions {
    /// Changes nothing.
    pub const UNCHANGED: Permissions = Permissions {
        owner: PermissionSet::UNCHANGED,
        group: PermissionSet::UNCHANGED,
        other: PermissionSet::UNCHANGED,
    };

    /// All nine bits from an octal number such as `0o640`, as the `chmod` commands take it.
    pub fn from_octal(mode: u32) -> Result<Self, PermissionsOutOfRange> {
        if mode > 0o777 {
            return Err(PermissionsOutOfRange(mode));
        }
        let digit = |shift: u32| ((mode >> shift) & 7) as u8;
        Ok(Permissions {
            owner: PermissionSet::from_octal_digit(digit(6)),
            group: PermissionSet::from_octal_digit(digit(3)),
            other: PermissionSet::from_octal_digit(digit(0)),
        })
    }

    /// The nine ints sent to oned, in its order (`user_use` ... `other_admin`; `-1` unchanged).
    pub fn to_wire(self) -> [i32; 9] {
        let bit = |b: Option<bool>| b.map_or(-1, i32::from);
        let mut out = [0; 9];
        for (i, set) in [self.owner, self.group, self.other].iter().enumerate() {
            out[i * 3] = bit(set.use_);
            out[i * 3 + 1] = bit(set.manage);
            out[i * 3 + 2] = bit(set.admin);
        }
        out
    }
}

impl fmt::Display for Permissions {
    /// `uma` letters per class, `-` for a cleared bit and `?` for an unchanged one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = |b: Option<bool>, c: char| match b {
            Some(true) => c,
            Some(false) => '-',
            None => '?',
        };
        let sets = [self.owner, self.group, self.other];
        for (i, set) in sets.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(
                f,
                "{}{}{}",
                letter(set.use_, 'u'),
                letter(set.manage, 'm'),
                letter(set.admin, 'a')
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_their_raw_numbers() {
        for raw in [-5, -4, -3, -2, -1, 0, 7] {
            assert_eq!(PoolFilter::from(raw).raw(), raw);
        }
        assert_eq!(PoolFilter::from(12), PoolFilter::User(12));
        for raw in [-2, -1, 0, 3, 8, 99] {
            assert_eq!(VmStateFilter::from(raw).raw(), raw);
        }
        assert_eq!(
            VmStateFilter::from(3),
            VmStateFilter::State(VmState::Active)
        );
    }

    #[test]
    fn permissions_encode_as_nine_ints() {
        let p = Permissions {
            owner: PermissionSet {
                use_: Some(true),
                ..PermissionSet::UNCHANGED
            },
            ..Permissions::UNCHANGED
        };
        assert_eq!(p.to_wire(), [1, -1, -1, -1, -1, -1, -1, -1, -1]);
        assert_eq!(Permissions::from_octal(0o777).unwrap().to_wire(), [1; 9]);
        assert_eq!(
            Permissions::from_octal(0o1000),
            Err(PermissionsOutOfRange(0o1000))
        );
    }
}

/// An integer parameter: an object ID, a cluster ID, a size, a count.
///
/// OpenNebula's wire type is a 32-bit `<int>`, while the IDs of the [model types](crate::models)
/// are `i64` (the schemas say `xs:integer`), so every primitive integer type is accepted: an ID
/// read from a listing goes straight back into a call. A number outside `i32` is refused before
/// anything is sent, with [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
/// parameter.
///
/// ```
/// # async fn run(client: &opennebula::Client) -> opennebula::Result<()> {
/// let pool = client.vmpool().info_all().await?;
/// for vm in &pool.vm {
///     let full = client.vm().info(vm.id).await?; // i64 from the listing
///     println!("{} {}", full.id, full.name);
/// }
/// # Ok(()) }
/// ```
pub trait IntArg {
    /// The wire value: `<int>` when the number fits, else `<i8>`, which
    /// [`Request::check`](crate::api::Request::check) refuses for an `<int>` parameter.
    fn into_wire_int(self) -> crate::wire::Value;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl IntArg for $t {
            fn into_wire_int(self) -> crate::wire::Value {
                match i32::try_from(self) {
                    Ok(i) => crate::wire::Value::Int(i),
                    // i128/u128 are not implemented, so every value here fits an i64 except
                    // u64/usize above i64::MAX, which saturate: still refused as out of range.
                    Err(_) => crate::wire::Value::I8(i64::try_from(self).unwrap_or(i64::MAX)),
                }
            }
        }
    )*};
}
int_arg!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl<T: IntArg + Copy> IntArg for &T {
    fn into_wire_int(self) -> crate::wire::Value {
        (*self).into_wire_int()
    }
}
