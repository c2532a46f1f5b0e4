//! Helpers built from several calls, as PyONE and goca offer them: waiting for a VM, image or
//! host state with a deadline, exporting a marketplace appliance, and walking the paginated
//! pools page by page.
//!
//! # Waits that listen
//!
//! With feature `events` and a client that knows oned's event bus
//! ([`ClientBuilder::events_endpoint`](crate::ClientBuilder::events_endpoint), or `ONE_ZMQ`
//! for [`Client::from_env`](crate::Client::from_env)), the waits subscribe to the object's
//! state changes first, then read its state, then wake on each change: no call per poll
//! interval, no detection delay, and a state that lasts one scheduler step is seen (the wait
//! returns the document of the event that satisfied it). They read the state again whenever
//! the bus reports a gap, and at least every [`WaitOptions::max_delay`]; when the bus cannot
//! be reached they poll, as without an endpoint.

use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use futures_util::stream::{self, Stream};

use super::documents;
use super::{
    request, HostState, ImageState, LcmState, MarketPlaceAppState, MarketPlaceAppType, PoolFilter,
    RawDocument, Request, VmState, VmStateFilter,
};
use crate::error::Error;
use crate::xml::FromXml;
use crate::Client;

/// Why a helper failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelperError {
    /// One of the calls failed.
    #[error(transparent)]
    Call(#[from] Error),
    /// The awaited condition did not hold before the deadline.
    #[error("timed out after {waited:?} waiting for {what} (last seen: {last})")]
    TimedOut {
        /// What was awaited.
        what: String,
        /// How long the helper waited.
        waited: Duration,
        /// The last observed state.
        last: String,
    },
    /// The condition can no longer hold (e.g. the VM reached DONE).
    #[error("{what} can no longer happen: {reason}")]
    Unreachable {
        /// What was awaited.
        what: String,
        /// Why not.
        reason: String,
    },
    /// The objects are not in a state the helper can work with.
    #[error("{0}")]
    Precondition(String),
}

impl HelperError {
    pub(crate) fn timed_out(what: &str, waited: Duration, last: String) -> Self {
        HelperError::TimedOut {
            what: what.to_string(),
            waited,
            last,
        }
    }
}

/// The state of a VM document, whatever its type (the generated `Vm` model or a
/// [`RawDocument`]).
pub trait VmStatus {
    /// `STATE`.
    fn vm_state(&self) -> VmState;
    /// `LCM_STATE`.
    fn vm_lcm_state(&self) -> LcmState;
}

impl VmStatus for RawDocument {
    fn vm_state(&self) -> VmState {
        VmState::from(self.int_at("STATE").unwrap_or(-1))
    }
    fn vm_lcm_state(&self) -> LcmState {
        LcmState::from(self.int_at("LCM_STATE").unwrap_or(-1))
    }
}

/// The state number of an image or host document, whatever its type.
pub trait ObjectStatus {
    /// `STATE`, -1 when absent.
    fn state_code(&self) -> i64;
}

impl ObjectStatus for RawDocument {
    fn state_code(&self) -> i64 {
        self.int_at("STATE").unwrap_or(-1)
    }
}

/// The number of objects in one page of a pool document.
pub trait PoolPage {
    /// How many objects the page holds.
    fn page_len(&self) -> usize;
}

impl PoolPage for RawDocument {
    fn page_len(&self) -> usize {
        self.root().children.len()
    }
}

/// How long and how often [`wait_until`] polls. A wait that listens to the event bus reads
/// the state again at least every `max_delay`, as a safety net.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Delay before the second poll.
    pub initial_delay: Duration,
    /// Longest delay between two polls.
    pub max_delay: Duration,
    /// Each delay is the previous one times this factor (at least 1).
    pub factor: f64,
}

impl Default for WaitOptions {
    /// Five minutes, polling after 0.5 s, then backing off by 1.5× up to 10 s between polls.
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            factor: 1.5,
        }
    }
}

impl WaitOptions {
    /// When a wait started at `started` gives up. A timeout too large to add is as good as
    /// none (about 30 years ahead).
    pub(crate) fn deadline(&self, started: tokio::time::Instant) -> tokio::time::Instant {
        started
            .checked_add(self.timeout)
            .unwrap_or_else(|| started + Duration::from_secs(1 << 30))
    }

    /// The default options with another timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            ..WaitOptions::default()
        }
    }
}

/// What [`wait_until`]'s check says about one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Done: return this observation.
    Done,
    /// Not yet; the text describes the current state (for the timeout error).
    Pending(String),
    /// Can never become done; the text says why.
    Unreachable(String),
}

/// Polls `fetch` until `check` says [`Check::Done`], with exponential backoff, giving up at the
/// deadline (the last poll happens at the deadline). The building block of
/// [`wait_for_vm_state`]; usable for any object. Any `options` are accepted: a factor below 1
/// counts as 1, huge values saturate.
pub async fn wait_until<T, F, Fut>(
    what: &str,
    options: WaitOptions,
    mut fetch: F,
    mut check: impl FnMut(&T) -> Check,
) -> Result<T, HelperError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<T>>,
{
    let started = tokio::time::Instant::now();
    let deadline = options.deadline(started);
    let mut delay = options.initial_delay;
    loop {
        let value = fetch().await?;
        let last = match check(&value) {
            Check::Done => return Ok(value),
            Check::Pending(last) => last,
            Check::Unreachable(reason) => {
                return Err(HelperError::Unreachable {
                    what: what.to_string(),
                    reason,
                })
            }
        };
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(HelperError::timed_out(what, now - started, last));
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        // Saturates instead of panicking on absurd factors.
        delay = Duration::try_from_secs_f64(delay.as_secs_f64() * options.factor.max(1.0))
            .unwrap_or(options.max_delay)
            .min(options.max_delay);
    }
}

/// The end of a wait for one object: listen to the event bus when the client has an endpoint
/// (feature `events`), else, or when the bus cannot be reached, poll with `wait_until`.
macro_rules! listen_or_poll {
    ($client:expr, $what:expr, $options:expr, $fetch:ident, $check:ident, $filter:ident($id:expr), $document:ident) => {{
        #[cfg(feature = "events")]
        if let Some(endpoint) = $client.events_endpoint() {
            let document = |event: crate::events::StateEvent| match event.document {
                crate::events::ObjectDocument::$document(document) => Some(*document),
                _ => None,
            };
            let filter = crate::events::Filter::$filter($id);
            let listened = crate::events::wait::listen_until(
                endpoint,
                filter,
                $what,
                $options,
                &mut $fetch,
                &mut $check,
                document,
            );
            if let Some(result) = listened.await {
                return result;
            }
        }
        wait_until($what, $options, $fetch, $check).await
    }};
}

/// Waits until VM `id` is in `state` (and, if given, `lcm_state`), polling `one.vm.info`, or
/// listening to the event bus when the client has an events endpoint (see the
/// [module docs](self)); returns the VM as last read or as the event carried it. Fails early
/// with [`HelperError::Unreachable`] when the VM reaches DONE (or a FAILURE life-cycle state)
/// while something else is awaited.
///
/// ```no_run
/// use opennebula::api::{helpers::{wait_for_vm_state, WaitOptions}, LcmState, VmState};
/// # async fn run(one: opennebula::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let vm = wait_for_vm_state(&one, 42, VmState::Active, Some(LcmState::Running),
///                            WaitOptions::default()).await?;
/// # Ok(()) }
/// ```
pub async fn wait_for_vm_state(
    client: &Client,
    id: i32,
    state: VmState,
    lcm_state: Option<LcmState>,
    options: WaitOptions,
) -> Result<documents::Vm, HelperError> {
    let what = match lcm_state {
        Some(lcm) => format!("VM {id} to be {state}/{lcm}"),
        None => format!("VM {id} to be {state}"),
    };
    // Borrowed mutably by the events path only.
    #[allow(unused_mut)]
    let mut fetch = || client.vm().info(id);
    #[allow(unused_mut)]
    let mut check = |vm: &documents::Vm| vm_check(vm, state, lcm_state);
    listen_or_poll!(client, &what, options, fetch, check, vm(id), Vm)
}

/// Waits until image `id` is in `state` (READY after an upload, for instance), polling
/// `one.image.info` or listening to the event bus (see [`wait_for_vm_state`]); returns the
/// image as last read or as the event carried it. Fails early with
/// [`HelperError::Unreachable`] when the image reaches ERROR or DELETE while something else
/// is awaited.
///
/// ```no_run
/// use opennebula::api::{helpers::{wait_for_image_state, WaitOptions}, ImageState};
/// # async fn run(one: opennebula::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let image = wait_for_image_state(&one, 7, ImageState::Ready, WaitOptions::default()).await?;
/// # Ok(()) }
/// ```
pub async fn wait_for_image_state(
    client: &Client,
    id: i32,
    state: ImageState,
    options: WaitOptions,
) -> Result<documents::Image, HelperError> {
    let what = format!("image {id} to be {state}");
    // Borrowed mutably by the events path only.
    #[allow(unused_mut)]
    let mut fetch = || client.image().info(id);
    #[allow(unused_mut)]
    let mut check = |image: &documents::Image| image_check(image, state);
    listen_or_poll!(client, &what, options, fetch, check, image(id), Image)
}

/// Waits until host `id` is in `state` (MONITORED when it comes back, for instance), polling
/// `one.host.info` or listening to the event bus (see [`wait_for_vm_state`]); returns the host
/// as last read or as the event carried it. No host state is final: only the deadline ends
/// the wait early.
///
/// ```no_run
/// use opennebula::api::{helpers::{wait_for_host_state, WaitOptions}, HostState};
/// # async fn run(one: opennebula::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let host = wait_for_host_state(&one, 0, HostState::Monitored, WaitOptions::default()).await?;
/// # Ok(()) }
/// ```
pub async fn wait_for_host_state(
    client: &Client,
    id: i32,
    state: HostState,
    options: WaitOptions,
) -> Result<documents::Host, HelperError> {
    let what = format!("host {id} to be {state}");
    // Borrowed mutably by the events path only.
    #[allow(unused_mut)]
    let mut fetch = || client.host().info(id);
    #[allow(unused_mut)]
    let mut check = |host: &documents::Host| {
        let now = HostState::from_code(host.state_code());
        if now == state {
            Check::Done
        } else {
            Check::Pending(now.to_string())
        }
    };
    listen_or_poll!(client, &what, options, fetch, check, host(id), Host)
}

fn image_check(image: &impl ObjectStatus, state: ImageState) -> Check {
    let now = ImageState::from_code(image.state_code());
    if now == state {
        return Check::Done;
    }
    if matches!(now, ImageState::Error | ImageState::Delete) {
        return Check::Unreachable(format!("the image is {now}"));
    }
    Check::Pending(now.to_string())
}

fn vm_check(vm: &impl VmStatus, state: VmState, lcm_state: Option<LcmState>) -> Check {
    let (now, lcm) = (vm.vm_state(), vm.vm_lcm_state());
    if now == state && lcm_state.is_none_or(|want| want == lcm) {
        return Check::Done;
    }
    if now == VmState::Done {
        return Check::Unreachable("the VM is DONE".into());
    }
    if now == VmState::Active
        && lcm.name().is_some_and(|n| n.ends_with("_FAILURE"))
        && lcm_state.is_none_or(|want| want != lcm)
    {
        return Check::Unreachable(format!("the VM failed ({lcm})"));
    }
    Check::Pending(if now == VmState::Active {
        format!("{now}/{lcm}")
    } else {
        now.to_string()
    })
}

/// What to export with [`marketapp_export`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Datastore for the image; default: the datastore named `default`.
    pub datastore_id: Option<i32>,
    /// Name of the new image; default: the appliance's name.
    pub name: Option<String>,
    /// Name of the VM template, if the appliance carries one; default: the appliance's name.
    pub vmtemplate_name: Option<String>,
}

/// What [`marketapp_export`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportedApp {
    /// The new image.
    pub image_id: i32,
    /// The new VM template using the image, if the appliance carries one.
    pub vmtemplate_id: Option<i32>,
}

/// Exports a marketplace appliance into an image (and a VM template using it, when the
/// appliance has one), as PyONE's `marketapp_export` helper does: the image template is the
/// appliance's `APPTEMPLATE64` plus `NAME` and `FROM_APP`; the VM template is
/// `TEMPLATE/VMTEMPLATE64` plus `NAME` and a `DISK` on the new image.
///
/// The appliance must be READY and of type IMAGE.
pub async fn marketapp_export(
    client: &Client,
    app_id: i32,
    options: ExportOptions,
) -> Result<ExportedApp, HelperError> {
    let app: RawDocument = client
        .call_document("one.marketapp.info", (app_id, false))
        .await?;
    let state = MarketPlaceAppState::from(app.int_at("STATE").unwrap_or(-1));
    if state != MarketPlaceAppState::Ready {
        return Err(HelperError::Precondition(format!(
            "marketplace app {app_id} is {state}, not READY"
        )));
    }
    let kind = MarketPlaceAppType::from(app.int_at("TYPE").unwrap_or(-1));
    if kind != MarketPlaceAppType::Image {
        return Err(HelperError::Precondition(format!(
            "marketplace app {app_id} is of type {kind}; only IMAGE apps can be exported"
        )));
    }
    let datastore_id = match options.datastore_id {
        Some(id) => id,
        None => default_datastore(client).await?,
    };
    let app_name = app.text_at("NAME").unwrap_or_default().to_string();

    let mut image_template = decode_template(&app, "APPTEMPLATE64")?.unwrap_or_default();
    let image_name = options.name.unwrap_or_else(|| app_name.clone());
    image_template.push_str(&format!(
        "\nNAME=\"{}\"\nFROM_APP=\"{app_id}\"\n",
        template_quote(&image_name)
    ));
    let image_id = client
        .send(request::image::allocate(
            image_template,
            datastore_id,
            false,
        ))
        .await?;

    let vmtemplate_id = match decode_template(&app, "TEMPLATE/VMTEMPLATE64")? {
        Some(mut vm_template) => {
            let name = options.vmtemplate_name.unwrap_or(app_name);
            vm_template.push_str(&format!(
                "\nNAME=\"{}\"\nDISK=[ IMAGE_ID = \"{image_id}\" ]\n",
                template_quote(&name)
            ));
            Some(
                client
                    .send(request::template::allocate(vm_template))
                    .await?,
            )
        }
        None => None,
    };
    Ok(ExportedApp {
        image_id,
        vmtemplate_id,
    })
}

async fn default_datastore(client: &Client) -> Result<i32, HelperError> {
    let pool: RawDocument = client.call_document("one.datastorepool.info", ()).await?;
    let found = pool
        .root()
        .children_named("DATASTORE")
        .find(|ds| ds.text_at("NAME") == Some("default"))
        .and_then(|ds| ds.int_at("ID"))
        .and_then(|id| i32::try_from(id).ok());
    found.ok_or_else(|| {
        HelperError::Precondition(
            "no datastore was given and there is none named \"default\"".into(),
        )
    })
}

fn decode_template(app: &RawDocument, path: &str) -> Result<Option<String>, HelperError> {
    let Some(encoded) = app.text_at(path).map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| HelperError::Precondition(format!("{path} is not valid base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| HelperError::Precondition(format!("{path} is not UTF-8 text")))
}

/// Escapes a value for a double-quoted OpenNebula template string.
fn template_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Streams the pages of a paginated pool: `build(offset, -size)` makes the request of each
/// page (`start_id` is the offset and a negative `end_id` the page size, as OpenNebula's Ruby
/// `Pool#get_page` sends them). Stops after a page shorter than `size`, or after the first
/// error (which it yields).
fn pages<P>(
    client: Client,
    page_size: u32,
    build: impl Fn(i32, i32) -> Request<P> + Send + 'static,
) -> impl Stream<Item = crate::Result<P>> + Send + 'static
where
    P: FromXml + PoolPage + Send + 'static,
{
    let size = i32::try_from(page_size.max(1)).unwrap_or(i32::MAX);
    stream::unfold(Some(0i32), move |offset| {
        let client = client.clone();
        let request = offset.map(|offset| build(offset, -size));
        async move {
            let offset = offset?;
            let request = request?;
            match client.send(request).await {
                Ok(page) => {
                    let len = page.page_len();
                    let next = if len < size as usize {
                        None
                    } else {
                        offset.checked_add(size)
                    };
                    Some((Ok(page), next))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

/// # Pagination
///
/// oned lists pools by descending ID; a page is `info(filter, offset, -page_size, ...)`, as
/// OpenNebula's own Ruby client pages. Iteration stops after the first page shorter than
/// `page_size` (0 counts as 1) or after an error, which is yielded. Objects created or deleted
/// while iterating shift the offsets: a page may repeat an object at its edge, or miss one.
impl super::VmPoolApi<'_> {
    /// The VM pool page by page (`one.vmpool.info`), newest VMs first.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// use opennebula::api::{PoolFilter, VmStateFilter};
    /// # async fn run(one: opennebula::Client) -> opennebula::Result<()> {
    /// let mut pages = std::pin::pin!(one.vmpool().pages(PoolFilter::All, VmStateFilter::NotDone, 100));
    /// while let Some(page) = pages.next().await {
    ///     let page = page?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(
        &self,
        filter: impl Into<PoolFilter>,
        state: impl Into<VmStateFilter>,
        page_size: u32,
    ) -> impl Stream<Item = crate::Result<documents::VmPool>> + Send + 'static {
        let (filter, state) = (filter.into(), state.into());
        pages(self.client.clone(), page_size, move |offset, size| {
            request::vmpool::info(filter, offset, size, state, "")
        })
    }
}

macro_rules! simple_pages {
    ($($handle:ident, $object:ident, $doc:ident, $what:literal;)*) => {$(
        /// # Pagination
        impl super::$handle<'_> {
            #[doc = concat!("The ", $what, " page by page (`one.", stringify!($object), ".info`), newest first.")]
            ///
            /// oned lists pools by descending ID; a page is `info(filter, offset, -page_size)`.
            /// Objects created or deleted while iterating shift the offsets.
            pub fn pages(
                &self,
                filter: impl Into<PoolFilter>,
                page_size: u32,
            ) -> impl Stream<Item = crate::Result<documents::$doc>> + Send + 'static {
                let filter = filter.into();
                pages(self.client.clone(), page_size, move |offset, size| {
                    request::$object::info(filter, offset, size)
                })
            }
        }
    )*};
}
simple_pages! {
    ImagePoolApi, imagepool, ImagePool, "image pool";
    TemplatePoolApi, templatepool, VmTemplatePool, "VM template pool";
    VirtualNetworkPoolApi, vnpool, VirtualNetworkPool, "virtual network pool";
    SecurityGroupPoolApi, secgrouppool, SecurityGroupPool, "security group pool";
}

impl super::DocumentPoolApi<'_> {
    /// The document pool of documents of type `kind`, page by page (`one.documentpool.info`),
    /// newest first. See [`VmPoolApi::pages`](super::VmPoolApi::pages) for the paging rules.
    pub fn pages(
        &self,
        filter: impl Into<PoolFilter>,
        kind: i32,
        page_size: u32,
    ) -> impl Stream<Item = crate::Result<documents::DocumentPool>> + Send + 'static {
        let filter = filter.into();
        pages(self.client.clone(), page_size, move |offset, size| {
            request::documentpool::info(filter, offset, size, kind)
        })
    }
}

/// The blocking twins of the helpers, for [`crate::blocking::Client`].
#[cfg(feature = "blocking")]
pub mod blocking {
    use futures_util::StreamExt;

    use super::*;
    use crate::api::blocking as handles;

    /// See [`super::wait_for_vm_state`].
    pub fn wait_for_vm_state(
        client: &crate::blocking::Client,
        id: i32,
        state: VmState,
        lcm_state: Option<LcmState>,
        options: WaitOptions,
    ) -> Result<documents::Vm, HelperError> {
        let inner = client.as_async().clone();
        client
            .block_on(async move {
                Ok(super::wait_for_vm_state(&inner, id, state, lcm_state, options).await)
            })
            .map_err(HelperError::Call)?
    }

    /// See [`super::wait_for_image_state`].
    pub fn wait_for_image_state(
        client: &crate::blocking::Client,
        id: i32,
        state: ImageState,
        options: WaitOptions,
    ) -> Result<documents::Image, HelperError> {
        let inner = client.as_async().clone();
        client
            .block_on(
                async move { Ok(super::wait_for_image_state(&inner, id, state, options).await) },
            )
            .map_err(HelperError::Call)?
    }

    /// See [`super::wait_for_host_state`].
    pub fn wait_for_host_state(
        client: &crate::blocking::Client,
        id: i32,
        state: HostState,
        options: WaitOptions,
    ) -> Result<documents::Host, HelperError> {
        let inner = client.as_async().clone();
        client
            .block_on(
                async move { Ok(super::wait_for_host_state(&inner, id, state, options).await) },
            )
            .map_err(HelperError::Call)?
    }

    /// See [`super::marketapp_export`].
    pub fn marketapp_export(
        client: &crate::blocking::Client,
        app_id: i32,
        options: ExportOptions,
    ) -> Result<ExportedApp, HelperError> {
        let inner = client.as_async().clone();
        client
            .block_on(async move { Ok(super::marketapp_export(&inner, app_id, options).await) })
            .map_err(HelperError::Call)?
    }

    /// Blocking iteration over the pages of a stream, one call per page.
    pub struct Pages<'a, T> {
        client: &'a crate::blocking::Client,
        stream:
            Option<std::pin::Pin<Box<dyn futures_util::Stream<Item = crate::Result<T>> + Send>>>,
    }

    impl<T> std::fmt::Debug for Pages<'_, T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Pages")
                .field("done", &self.stream.is_none())
                .finish()
        }
    }

    impl<T: Send + 'static> Iterator for Pages<'_, T> {
        type Item = crate::Result<T>;

        fn next(&mut self) -> Option<Self::Item> {
            let mut stream = self.stream.take()?;
            let (item, stream) = match self.client.block_on(async move {
                let item = stream.next().await;
                Ok((item, stream))
            }) {
                Ok(pair) => pair,
                Err(e) => return Some(Err(e)),
            };
            if item.is_some() {
                self.stream = Some(stream);
            }
            item
        }
    }

    fn iterate<T>(
        client: &crate::blocking::Client,
        stream: impl futures_util::Stream<Item = crate::Result<T>> + Send + 'static,
    ) -> Pages<'_, T> {
        Pages {
            client,
            stream: Some(Box::pin(stream)),
        }
    }

    impl<'a> handles::VmPoolApi<'a> {
        /// The VM pool page by page; see [`crate::api::VmPoolApi::pages`].
        pub fn pages(
            &self,
            filter: impl Into<PoolFilter>,
            state: impl Into<VmStateFilter>,
            page_size: u32,
        ) -> Pages<'a, documents::VmPool> {
            let stream = self
                .client
                .as_async()
                .vmpool()
                .pages(filter, state, page_size);
            iterate(self.client, stream)
        }
    }

    macro_rules! blocking_pages {
        ($($handle:ident, $object:ident, $doc:ident;)*) => {$(
            impl<'a> handles::$handle<'a> {
                #[doc = concat!("Page by page; see [`crate::api::", stringify!($handle), "::pages`].")]
                pub fn pages(&self, filter: impl Into<PoolFilter>, page_size: u32) -> Pages<'a, documents::$doc> {
                    let stream = self.client.as_async().$object().pages(filter, page_size);
                    iterate(self.client, stream)
                }
            }
        )*};
    }
    blocking_pages! {
        ImagePoolApi, imagepool, ImagePool;
        TemplatePoolApi, templatepool, VmTemplatePool;
        VirtualNetworkPoolApi, vnpool, VirtualNetworkPool;
        SecurityGroupPoolApi, secgrouppool, SecurityGroupPool;
    }

    impl<'a> handles::DocumentPoolApi<'a> {
        /// Page by page; see [`crate::api::DocumentPoolApi::pages`].
        pub fn pages(
            &self,
            filter: impl Into<PoolFilter>,
            kind: i32,
            page_size: u32,
        ) -> Pages<'a, documents::DocumentPool> {
            let stream = self
                .client
                .as_async()
                .documentpool()
                .pages(filter, kind, page_size);
            iterate(self.client, stream)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(state: i32, lcm: i32) -> RawDocument {
        RawDocument::from_xml(&format!(
            "<VM><ID>1</ID><STATE>{state}</STATE><LCM_STATE>{lcm}</LCM_STATE></VM>"
        ))
        .unwrap()
    }

    #[test]
    fn vm_checks_follow_state_and_lcm_state() {
        assert_eq!(
            vm_check(&vm(3, 3), VmState::Active, Some(LcmState::Running)),
            Check::Done
        );
        assert_eq!(vm_check(&vm(8, 0), VmState::Poweroff, None), Check::Done);
        assert_eq!(
            vm_check(&vm(3, 2), VmState::Active, Some(LcmState::Running)),
            Check::Pending("ACTIVE/BOOT".into())
        );
        assert!(matches!(
            vm_check(&vm(6, 0), VmState::Active, None),
            Check::Unreachable(_)
        ));
        assert!(matches!(
            vm_check(&vm(3, 36), VmState::Active, Some(LcmState::Running)),
            Check::Unreachable(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_until_backs_off_and_times_out() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        let result = wait_until(
            "nothing",
            WaitOptions {
                timeout: Duration::from_secs(10),
                initial_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(4),
                factor: 2.0,
            },
            || {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Ok::<_, Error>(0) }
            },
            |_| Check::Pending("still zero".into()),
        )
        .await;
        // Polls at 0, 1, 3, 7 and 10 (the deadline): five calls, ten seconds of virtual time.
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 5);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        match result {
            Err(HelperError::TimedOut { last, waited, .. }) => {
                assert_eq!(last, "still zero");
                assert_eq!(waited, Duration::from_secs(10));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_options_do_not_panic() {
        let mut n = 0;
        let result = wait_until(
            "three",
            WaitOptions {
                timeout: Duration::MAX,
                initial_delay: Duration::from_secs(1),
                max_delay: Duration::MAX,
                factor: f64::MAX,
            },
            || {
                n += 1;
                let v = n;
                async move { Ok::<_, Error>(v) }
            },
            |v| {
                if *v == 3 {
                    Check::Done
                } else {
                    Check::Pending(String::new())
                }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_until_returns_the_value_once_done() {
        let mut n = 0;
        let value = wait_until(
            "three",
            WaitOptions::default(),
            || {
                n += 1;
                let v = n;
                async move { Ok::<_, Error>(v) }
            },
            |v| {
                if *v == 3 {
                    Check::Done
                } else {
                    Check::Pending(v.to_string())
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[test]
    fn image_checks_stop_at_error() {
        let image = |state: i32| {
            RawDocument::from_xml(&format!("<IMAGE><ID>1</ID><STATE>{state}</STATE></IMAGE>"))
                .unwrap()
        };
        assert_eq!(image_check(&image(1), ImageState::Ready), Check::Done);
        assert_eq!(
            image_check(&image(4), ImageState::Ready),
            Check::Pending("LOCKED".into())
        );
        assert!(matches!(
            image_check(&image(5), ImageState::Ready),
            Check::Unreachable(_)
        ));
        assert_eq!(image_check(&image(5), ImageState::Error), Check::Done);
    }

    #[test]
    fn template_values_are_quoted() {
        assert_eq!(template_quote(r#"a "b" \c"#), r#"a \"b\" \\c"#);
    }
}
