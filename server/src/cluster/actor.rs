//! The cluster actor: one task owning the state machine, fed by one channel, carrying out
//! every effect in order.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cluster_bus::Message;
use cluster_core::{Cluster, Effect, Input, KeyFacts, LinkId, LogLevel, Reply, Request, Routing};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::conf::NodesConfFile;
use super::{links, ClusterHandle};
use crate::node::Node;

/// The cron period of `clusterCron`.
const TICK: Duration = Duration::from_millis(100);

/// Everything the actor is told.
#[derive(Debug)]
pub enum ActorInput {
    /// A decoded frame from a link.
    Bus {
        /// The link.
        link: LinkId,
        /// The message.
        msg: Box<Message>,
    },
    /// A peer connected to the bus port.
    Accepted {
        /// The socket.
        stream: TcpStream,
        /// Peer address.
        peer_ip: String,
        /// Our address on that connection.
        local_ip: String,
    },
    /// An outbound connect completed; frames for it go to `tx`.
    Connected {
        /// The link.
        link: LinkId,
        /// Its send queue.
        tx: mpsc::Sender<Bytes>,
    },
    /// A link ended (EOF, I/O or framing error, failed connect).
    Closed {
        /// The link.
        link: LinkId,
    },
    /// A CLUSTER subcommand from a client.
    Command {
        /// The parsed request.
        req: Request,
        /// Keyspace facts.
        keys: KeyFacts,
        /// Where the reply goes: a reply, or a full error text.
        reply: oneshot::Sender<Result<Reply, String>>,
    },
    /// A local PUBLISH (SPUBLISH when `shard`) to propagate on the bus.
    Publish {
        /// SPUBLISH: to the nodes of this shard only.
        shard: bool,
        /// Channel.
        channel: Bytes,
        /// Message.
        message: Bytes,
    },
}

struct Link {
    /// None while an outbound connect is in flight.
    tx: Option<mpsc::Sender<Bytes>>,
    cancel: CancellationToken,
}

/// The actor's state.
pub struct Actor {
    cluster: Cluster,
    file: NodesConfFile,
    node: Weak<Node>,
    handle: Arc<ClusterHandle>,
    me: mpsc::Sender<ActorInput>,
    shutdown: CancellationToken,
    links: HashMap<LinkId, Link>,
    next_in: u64,
    effects: Vec<Effect>,
    /// Links closed by the actor itself (send queue full), reported to the core after
    /// the current step.
    dropped: Vec<LinkId>,
    /// Ticks left in which blocked clients are checked against the routing: a client can
    /// only wait on a slot it is served, so they need checking just after a change.
    recheck_blocked: u8,
}

/// What happened to the nodes.conf writes of one step.
#[derive(Default)]
struct Step {
    save_error: Option<String>,
    reply: Option<Reply>,
}

impl Actor {
    /// An actor over a loaded (or new) state machine.
    pub fn new(
        cluster: Cluster,
        file: NodesConfFile,
        node: Weak<Node>,
        handle: Arc<ClusterHandle>,
        me: mpsc::Sender<ActorInput>,
        shutdown: CancellationToken,
    ) -> Actor {
        Actor {
            cluster,
            file,
            node,
            handle,
            me,
            shutdown,
            links: HashMap::new(),
            next_in: 0,
            effects: Vec::new(),
            dropped: Vec::new(),
            recheck_blocked: 0,
        }
    }

    /// Runs until shutdown. A fresh node writes its nodes.conf first.
    pub async fn run(mut self, mut rx: mpsc::Receiver<ActorInput>, fresh: bool) {
        let id = cluster_core::nodes_conf::name_text(&self.cluster.myself());
        if fresh {
            tracing::info!("No cluster configuration found, I'm {id}");
            let bytes = self.cluster.nodes_conf_bytes();
            if let Err(e) = self.file.save(&bytes, true) {
                fatal_save(&e.to_string());
            }
        } else {
            tracing::info!("Node configuration loaded, I'm {id}");
        }
        let mut config = self.node.upgrade().map(|n| n.config.subscribe());
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let config_changed = async {
                match config.as_mut() {
                    Some(c) => c.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                _ = tick.tick() => {
                    self.report_replication();
                    self.step(Input::Tick);
                    if self.recheck_blocked > 0 {
                        self.recheck_blocked -= 1;
                        self.release_blocked();
                    }
                }
                ok = config_changed => {
                    if !ok {
                        config = None;
                        continue;
                    }
                    let cfg = config.as_mut().map(|c| c.borrow_and_update().clone());
                    if let Some(cfg) = cfg {
                        let new = super::core_config(&cfg);
                        if &new != self.cluster.config() {
                            self.step(Input::Reconfigure(Box::new(new)));
                        }
                    }
                }
                msg = rx.recv() => match msg {
                    Some(m) => self.input(m),
                    None => break,
                },
            }
            while let Some(link) = self.dropped.pop() {
                if self.links.remove(&link).is_some() {
                    self.step(Input::Closed { link });
                }
            }
        }
        for (_, l) in self.links.drain() {
            l.cancel.cancel();
        }
    }

    fn input(&mut self, m: ActorInput) {
        match m {
            ActorInput::Bus { link, msg } => {
                if self.links.contains_key(&link) {
                    // The header we answer with carries our offset: keep it current.
                    self.report_replication();
                    self.step(Input::Bus { link, msg });
                }
            }
            ActorInput::Accepted {
                stream,
                peer_ip,
                local_ip,
            } => {
                self.next_in += 1;
                let link = LinkId::In(self.next_in);
                let (tx, rx) = mpsc::channel(links::SEND_QUEUE);
                let cancel = self.shutdown.child_token();
                self.links.insert(
                    link,
                    Link {
                        tx: Some(tx),
                        cancel: cancel.clone(),
                    },
                );
                tokio::spawn(links::run(link, stream, rx, cancel, self.me.clone()));
                self.step(Input::Accepted {
                    link,
                    peer_ip,
                    local_ip,
                });
            }
            ActorInput::Connected { link, tx } => {
                if let Some(l) = self.links.get_mut(&link) {
                    l.tx = Some(tx);
                    self.step(Input::Connected { link });
                }
            }
            ActorInput::Closed { link } => {
                if self.links.remove(&link).is_some() {
                    self.step(Input::Closed { link });
                }
            }
            ActorInput::Command { req, keys, reply } => {
                let is_save = matches!(req, Request::SaveConfig);
                let step = self.step(Input::Command { req, keys });
                let answer = match (step.save_error, step.reply) {
                    (Some(e), _) if is_save => {
                        Err(format!("ERR error saving the cluster node config: {e}"))
                    }
                    (Some(e), _) => fatal_save(&e),
                    (None, Some(r)) => Ok(r),
                    (None, None) => Err("ERR the cluster state machine gave no reply".into()),
                };
                let _ = reply.send(answer);
            }
            ActorInput::Publish {
                shard,
                channel,
                message,
            } => {
                self.step(Input::Publish {
                    shard,
                    channel,
                    message,
                });
            }
        }
    }

    /// Feeds our replication offset and master link state to the core (election rank,
    /// data age, manual failover catch-up), once per tick.
    fn report_replication(&mut self) {
        if let Some(node) = self.node.upgrade() {
            for (offset, link_up, master_last_io) in node.repl.cluster_report() {
                self.step(Input::Replication {
                    offset,
                    link_up,
                    master_last_io,
                });
            }
        }
    }

    /// Feeds one input and carries out its effects, in order.
    fn step(&mut self, input: Input) -> Step {
        let now = crate::keyspace::now_ms();
        let mut effects = std::mem::take(&mut self.effects);
        effects.clear();
        self.cluster.handle(now, input, &mut effects);
        let mut step = Step::default();
        // The routing snapshot goes first: the keys of a lost slot (DeleteSlotKeys) and
        // its shard channels are dropped only once clients are redirected, so no client
        // sees the slot still served here but emptied.
        if let Some(i) = effects
            .iter()
            .rposition(|e| matches!(e, Effect::Routing(_)))
        {
            let latest = effects.remove(i);
            effects.retain(|e| !matches!(e, Effect::Routing(_)));
            self.effect(latest, now, &mut step);
        }
        for e in effects.drain(..) {
            self.effect(e, now, &mut step);
        }
        self.effects = effects;
        if step.save_error.is_some() && step.reply.is_none() {
            if let Some(e) = step.save_error.take() {
                fatal_save(&e);
            }
        }
        step
    }

    fn effect(&mut self, e: Effect, now: u64, step: &mut Step) {
        match e {
            Effect::Send { link, msg } => self.send(link, &msg),
            Effect::Connect {
                link,
                node: _,
                ip,
                cport,
            } => {
                let cancel = self.shutdown.child_token();
                self.links.insert(
                    link,
                    Link {
                        tx: None,
                        cancel: cancel.clone(),
                    },
                );
                let timeout = Duration::from_millis(self.cluster.config().node_timeout.max(1000));
                tokio::spawn(links::connect(
                    link,
                    ip,
                    cport,
                    timeout,
                    cancel,
                    self.me.clone(),
                ));
            }
            Effect::Close { link } => {
                if let Some(l) = self.links.remove(&link) {
                    l.cancel.cancel();
                }
            }
            Effect::SaveConfig { fsync } => {
                let bytes = self.cluster.nodes_conf_bytes();
                if let Err(e) = self.file.save(&bytes, fsync) {
                    step.save_error = Some(e.to_string());
                }
            }
            Effect::Routing(r) => {
                // A second of checks covers clients that blocked on the old routing
                // while this one was being made.
                self.recheck_blocked = 10;
                let old = self.handle.routing.swap(r.clone());
                if let Some(node) = self.node.upgrade() {
                    node.pubsub
                        .drop_shard_slots(&|slot| serves(&old, slot) && !serves(&r, slot));
                }
            }
            Effect::Deliver {
                shard,
                channel,
                message,
            } => {
                if let Some(node) = self.node.upgrade() {
                    if shard {
                        node.pubsub.publish_shard(&channel, &message);
                    } else {
                        node.pubsub.publish(&channel, &message);
                    }
                }
            }
            Effect::ModuleMessage { .. } => {
                tracing::debug!(
                    "Dropping a module message from the bus: this server loads no modules"
                );
            }
            Effect::Replicate(Some(m)) => {
                if let Some(node) = self.node.upgrade() {
                    node.repl.set_master(&node, &m.ip, m.port);
                }
            }
            Effect::Replicate(None) => {
                if let Some(node) = self.node.upgrade() {
                    node.repl.unset_master(&node);
                }
            }
            Effect::PauseWrites { until } => {
                if let Some(node) = self.node.upgrade() {
                    // Writes already running finish before the offset is reported again.
                    node.repl.pause_writes(until);
                    node.repl.drain_writes();
                    self.report_replication();
                }
            }
            Effect::ResumeWrites => {
                if let Some(node) = self.node.upgrade() {
                    node.repl.pause_writes(0);
                }
            }
            Effect::DeleteSlotKeys(slots) => {
                if let Some(node) = self.node.upgrade() {
                    delete_slot_keys(&node, &slots, now);
                }
            }
            Effect::FlushAll => {
                if let Some(node) = self.node.upgrade() {
                    node.db(0).clear(now);
                }
            }
            Effect::Log { level, text } => match level {
                LogLevel::Warning => tracing::warn!("{text}"),
                LogLevel::Notice => tracing::info!("{text}"),
                LogLevel::Verbose => tracing::debug!("{text}"),
            },
            Effect::Reply(r) => step.reply = Some(r),
        }
    }

    /// The cron's pass over blocked clients: those waiting on a slot this node no longer
    /// serves, or while the cluster is down, get the redirection as their reply.
    fn release_blocked(&self) {
        if let Some(node) = self.node.upgrade() {
            let routing = self.handle.routing();
            crate::commands::blocking::release_redirected(&node, &|key| {
                super::route::blocked_redirect(&node, &routing, key)
            });
        }
    }

    fn send(&mut self, link: LinkId, msg: &Message) {
        let Some(tx) = self.links.get(&link).and_then(|l| l.tx.clone()) else {
            return;
        };
        let mut buf = BytesMut::with_capacity(cluster_bus::encoded_len(msg));
        if let Err(e) = cluster_bus::encode(msg, &mut buf) {
            tracing::warn!("Can't encode a cluster bus message: {e}");
            return;
        }
        match tx.try_send(buf.freeze()) {
            Ok(()) => {}
            // The link's task has ended (its peer closed it, or a write failed) and is
            // telling the core so: nothing to add.
            Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                // A peer that does not read is as good as gone; the core reconnects.
                // The entry stays until the core hears of the close, after this step.
                tracing::warn!("Cluster link {link:?} send queue is full: closing it");
                if let Some(l) = self.links.get(&link) {
                    l.cancel.cancel();
                }
                self.dropped.push(link);
            }
        }
    }
}

/// Whether this node's shard (itself, or its master) serves `slot`.
fn serves(r: &Routing, slot: u16) -> bool {
    r.owner(slot)
        .is_some_and(|o| o.name == r.myself || r.my_master == Some(o.name))
}

fn delete_slot_keys(node: &Node, slots: &cluster_bus::SlotSet, now: u64) {
    let db = node.db(0);
    for slot in slots.iter() {
        let mut shard = db.lock_slot(slot);
        let keys: Vec<Vec<u8>> = shard.slot(slot).iter().map(|e| e.key().to_vec()).collect();
        for k in keys {
            shard.remove(slot, &k, now);
        }
    }
}

/// Redis exits when it cannot write nodes.conf outside CLUSTER SAVECONFIG.
fn fatal_save(err: &str) -> ! {
    tracing::warn!("Fatal: can't update cluster config file. ({err})");
    std::process::exit(1)
}
