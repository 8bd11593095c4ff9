"""Synchronous training across processes with TensorFlow's own distributed
runtime: parameter servers hold the variables, workers compute gradients.

Why this module is long: a cluster's whole life cycle is one story (who
waits for whom, who reports what, who ends when) that reads best in one
place: the tasks' roles, the peer checks, the chief's barrier, the
parameter server's end and the worker loop.

The TF1 recipe, unchanged in today's TensorFlow under `tf.compat.v1`:

* each process runs a `tf.distribute.Server` for its task of the cluster
  (TF_CONFIG, or train.py's --cluster/--job_name/--task_index);
* a worker builds the ordinary train graph (train_op.build_train_graph,
  towers included) under `replica_device_setter`: variables on the
  parameter servers (round-robin), compute on the worker;
* `SyncReplicasOptimizer` makes every global step the average of W
  gradients (W workers); the chief (worker 0) runs the loop that applies
  each averaged gradient and then the weights' EMA (`variable_averages`),
  and writes checkpoints and TensorBoard scalars.

Each worker takes `--batch_size` examples per step from its own shard of the
training split (example i goes to worker i mod W), so one global step
consumes batch_size * W examples and an epoch is W times fewer steps
(`TrainConfig.global_batch_size`; the learning rate is not rescaled: pass a
larger --learning_rate for a larger effective batch if wanted).

What TF1's recipe leaves to its users is done here:

* Lockstep. The workers start with no spare token (`SyncReplicasHook`), so
  while all are up each global step holds exactly one gradient per worker.
  A start barrier (`_wait_for_workers`) holds the chief until every worker
  is up, and step 1 (each process's graph set-up) has no short deadline,
  so a slow start on a busy machine does not break the lockstep.
* Ending, and dead peers. A worker leaves when the global step reaches
  --steps, but a worker that has pushed a gradient for a round the others
  will never join waits for its token forever (the well-known hang at the
  end of SyncReplicasOptimizer training). Every step therefore runs with a
  deadline (`step_timeout`): on expiry the worker reads the global step and
  either leaves or computes another gradient. The same rule keeps training
  going while a worker is down: SyncReplicasOptimizer counts gradients, not
  workers, so the live workers' extra gradients fill the round (and from
  then on the dead worker's spare token lets them go on at full speed).
* Parameter servers that exit. Each worker, after its last step (the chief
  after its last checkpoint), enqueues a token on a queue of every parameter
  server; a parameter server returns once it holds one from every worker.

A killed worker restarted with the same command rejoins: its session
waits for the chief's variables, the sync hook sets its local step to the
global one, and it goes on with fresh batches (tests/test_distributed.py).
A restarted chief restores the newest checkpoint (`ChiefSessionCreator`),
as in one process; so does the chief when a parameter server dies and comes
back (MonitoredSession makes a new session, and the variables the server
lost come from the newest checkpoint). tests/test_distributed.py kills each
kind of task.
"""

import collections
import dataclasses
import json
import socket
import threading
import time

import tensorflow as tf

from resnet_tf1.model_dir import run_record
from resnet_tf1.model_dir import lock
from resnet_tf1.model_dir import checkpoints
from resnet_tf1.compute import model_graph
from resnet_tf1.model_dir import summaries
from resnet_tf1.data import inputs
import data_set
from resnet_tf1.errors import ClusterError
from resnet_tf1.errors import ConfigError
from resnet_tf1.training import loop
from resnet_tf1.training import train_op

tf1 = tf.compat.v1

JOBS = ('ps', 'worker')
TF_CONFIG = 'TF_CONFIG'
# Seconds a worker waits for the first global step (see train_worker), as
# long as a non-chief worker waits for the chief's session.
FIRST_STEP_TIMEOUT = 30 * 60
# Seconds a task waits for a peer that does not answer (a parameter server
# not started or killed, a chief gone) before giving up in one line
# (--peer_timeout), and how often it says whom it waits for meanwhile.
PEER_TIMEOUT = 600
PEER_REPORT_SECONDS = 5
# Once the chief is done, seconds a parameter server waits for the other
# workers' "done" (they leave within a step deadline of the chief's last
# step) before it reports them and exits.
DONE_GRACE_SECONDS = 60

ClusterTask = collections.namedtuple('ClusterTask', ['cluster', 'job_name',
                                                     'task_index'])


def _cluster_error(source, message, *args):
    return ConfigError('%s: %s' % (source, message % args))


def _check_cluster(cluster, job_name, task_index, source):
    if not isinstance(cluster, dict) or set(cluster) != set(JOBS):
        raise _cluster_error(source, 'the cluster must list exactly the jobs '
                             '"ps" and "worker", got %s',
                             sorted(cluster) if isinstance(cluster, dict)
                             else type(cluster).__name__)
    for job in JOBS:
        addresses = cluster[job]
        if (not isinstance(addresses, list) or not addresses or
                not all(isinstance(address, str) and ':' in address
                        for address in addresses)):
            raise _cluster_error(source, 'job "%s" must be a non-empty list '
                                 'of "host:port", got %r', job, addresses)
    if job_name not in JOBS:
        raise _cluster_error(source, 'the task type must be "ps" or "worker" '
                             '(worker 0 is the chief), got %r', job_name)
    if (not isinstance(task_index, int) or
            not 0 <= task_index < len(cluster[job_name])):
        raise _cluster_error(source, 'task index %r is not in job "%s" (%d '
                             'tasks)', task_index, job_name,
                             len(cluster[job_name]))
    return ClusterTask(cluster, job_name, task_index)


def cluster_task(cluster_json=None, job_name=None, task_index=None,
                 environ=None):
    """This process's task, or None for single-process training.

    From train.py's flags when --cluster is given (a JSON object, the
    "cluster" part of TF_CONFIG), else from the TF_CONFIG variable of
    `environ` ({"cluster": {...}, "task": {"type": ..., "index": ...}}).
    """
    if cluster_json is not None:
        try:
            cluster = json.loads(cluster_json)
        except ValueError as error:
            raise _cluster_error('--cluster', 'not JSON (%s)', error) from None
        return _check_cluster(cluster, job_name,
                              0 if task_index is None else task_index,
                              '--cluster')
    if job_name or task_index is not None:
        raise ConfigError(
            '--job_name/--task_index need --cluster (or TF_CONFIG)')
    text = (environ or {}).get(TF_CONFIG)
    if not text:
        return None
    try:
        spec = json.loads(text)
        task = spec.get('task', {})
        return _check_cluster(spec['cluster'], task.get('type'),
                              task.get('index', 0), TF_CONFIG)
    except (ValueError, KeyError, AttributeError, TypeError) as error:
        if isinstance(error, ConfigError):
            raise
        raise _cluster_error(TF_CONFIG, 'not a cluster description (%s)',
                             error) from None


class SyncReplicasHook(tf1.train.SessionRunHook):
    """SyncReplicasOptimizer's session setup, as its own
    `make_session_run_hook` does it, except for the chief's update loop.

    The chief loops on the op that waits for a round of gradients, applies
    them and hands out the next tokens. TF's hook runs it in a QueueRunner
    that, blocked in that wait when training ends, prints a CancelledError
    traceback on every clean exit; here it is a thread that knows it is
    being stopped. Starting with no spare tokens (`num_tokens=0`) keeps the
    workers in lockstep: no worker starts a second gradient of a round
    before every worker has given its first (the default lets the chief run
    two rounds alone while a slower worker starts up).
    """

    def __init__(self, sync_optimizer, is_chief):
        # Read in after_create_session; a run refused before that (a bad
        # checkpoint) must not make tf_should_use print a warning at exit.
        sync_optimizer.ready_for_local_init_op.mark_used()
        self._sync_optimizer = sync_optimizer
        self._is_chief = is_chief
        self._stopping = threading.Event()
        self._thread = None

    def begin(self):
        optimizer = self._sync_optimizer
        if self._is_chief:
            self._local_init_op = optimizer.chief_init_op
            self._init_tokens_op = optimizer.get_init_tokens_op(num_tokens=0)
            self._update_op = optimizer.get_chief_queue_runner().enqueue_ops[0]
        else:
            self._local_init_op = optimizer.local_step_init_op

    def after_create_session(self, session, coord):
        uninitialized = session.run(
            self._sync_optimizer.ready_for_local_init_op)
        if len(uninitialized):
            raise RuntimeError('cannot start synchronous training: %s not '
                               'initialized' % uninitialized[0].decode())
        session.run(self._local_init_op)
        if not self._is_chief:
            return
        session.run(self._init_tokens_op)
        self._thread = threading.Thread(
            target=self._apply_rounds, args=(session, coord),
            name='apply_gradient_rounds', daemon=True)
        self._thread.start()

    def _apply_rounds(self, session, coord):
        try:
            while not self._stopping.is_set():
                session.run(self._update_op)
        except tf.errors.OpError as error:
            if self._stopping.is_set():
                return
            try:
                coord.request_stop(error)
            except tf.errors.OpError:
                # The coordinator was joined already: MonitoredSession gave
                # this session up (a parameter server died) and runs the
                # next one with its own thread. request_stop re-raises the
                # error then, which would end this thread in a traceback.
                pass

    def end(self, session):
        del session
        self._stopping.set()


class WorkerSessionCreator(tf1.train.SessionCreator):
    """A non-chief worker's session: waits until the chief has initialized
    or restored the variables, checking every second (TF's
    tf1.train.WorkerSessionCreator checks every 30 s, making every worker start
    up to 30 s late)."""

    def __init__(self, scaffold, master, config,
                 max_wait_secs=FIRST_STEP_TIMEOUT):
        self._scaffold = scaffold
        self._master = master
        self._config = config
        self._max_wait_secs = max_wait_secs

    before_session = None

    def create_session(self):
        if self.before_session:
            self.before_session()
        self._scaffold.finalize()
        manager = tf1.train.SessionManager(
            local_init_op=self._scaffold.local_init_op,
            local_init_feed_dict=self._scaffold.local_init_feed_dict,
            ready_op=self._scaffold.ready_op,
            ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
            graph=tf1.get_default_graph(), recovery_wait_secs=1)
        return manager.wait_for_session(self._master, config=self._config,
                                        max_wait_secs=self._max_wait_secs)


class ChiefSessionCreator(tf1.train.SessionCreator):
    """The chief's session: restores the newest checkpoint of `model_dir`
    as found at each creation (checkpoints.find_latest), or initializes.

    MonitoredSession creates the session again when a parameter server died
    and came back (its variables are gone): then the newest checkpoint is
    the one to restore, not the one there was at start-up, which TF's
    ChiefSessionCreator would keep restoring.
    """

    def __init__(self, scaffold, master, config, model_dir, log):
        self._scaffold = scaffold
        self._master = master
        self._config = config
        self._model_dir = model_dir
        self._log = log
        self._created = 0

    before_session = None

    def create_session(self):
        if self.before_session:
            self.before_session()
        self._scaffold.finalize()
        checkpoint = checkpoints.latest_checkpoint(self._model_dir)
        if self._created:
            self._log('worker 0: the session broke (a parameter server '
                      'restarted?); starting again from %s' % (
                          checkpoint or 'step 0'))
        self._created += 1
        manager = tf1.train.SessionManager(
            local_init_op=self._scaffold.local_init_op,
            local_init_feed_dict=self._scaffold.local_init_feed_dict,
            ready_op=self._scaffold.ready_op,
            ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
            graph=tf1.get_default_graph())
        return manager.prepare_session(
            self._master, saver=self._scaffold.saver,
            checkpoint_filename_with_path=checkpoint, config=self._config,
            init_op=self._scaffold.init_op,
            init_feed_dict=self._scaffold.init_feed_dict,
            init_fn=self._scaffold.init_fn)


def num_workers(task):
    return len(task.cluster['worker'])


def start_server(task, session_config):
    """This task's gRPC server (the call that binds its port)."""
    try:
        return tf.distribute.Server(
            tf.train.ClusterSpec(task.cluster), job_name=task.job_name,
            task_index=task.task_index, config=session_config)
    except (tf.errors.OpError, RuntimeError) as error:
        raise ClusterError('cannot serve %s task %d at %s (%s; is '
                                     'the port in use?)' % (
            task.job_name, task.task_index,
            task.cluster[task.job_name][task.task_index],
            str(error).strip().splitlines()[0][:200])) from None


def _done_queues(task):
    """One queue per parameter server, shared by name, on which every worker
    leaves a token when it is done."""
    queues = []
    for index in range(len(task.cluster['ps'])):
        with tf1.device('/job:ps/task:%d' % index):
            queues.append(tf1.FIFOQueue(num_workers(task), tf.int32, shapes=[],
                                        shared_name='done_queue_%d' % index,
                                        name='done_queue_%d' % index))
    return queues


# Capacity of the start queue: tokens left by restarted workers must never
# block an enqueue.
_START_QUEUE_CAPACITY = 1 << 16


def _start_queue(task):
    """The queue, on parameter server 0 and shared by name, on which each
    non-chief worker says it is ready for step 1 (see `_wait_for_workers`)."""
    with tf1.device('/job:ps/task:0'):
        return tf1.FIFOQueue(_START_QUEUE_CAPACITY, tf.int32, shapes=[],
                             shared_name='start_queue', name='start_queue')


def _take(session, queue_ops, seconds):
    """The next element of a queue, or None if none comes within
    `seconds`: its size is polled, a dequeue runs only when one is there
    (a blocked dequeue would wait for good)."""
    size, dequeue = queue_ops
    deadline = time.time() + seconds
    while True:
        if int(session.run(size)):
            return int(session.run(dequeue))
        if time.time() >= deadline:
            return None
        time.sleep(0.2)


def _wait_for_workers(session, queue_ops, task, log, name,
                      peer_timeout=PEER_TIMEOUT):
    """The start barrier: the chief takes no step before every other
    worker has said it is ready (whatever their start-up took), so no
    step deadline runs out on a worker still starting and the first rounds
    hold one gradient per worker. Says whom it waits for every
    PEER_REPORT_SECONDS and gives up after `peer_timeout` seconds."""
    waiting = set(range(1, num_workers(task)))
    started = time.time()
    while waiting:
        waited = time.time() - started
        names = ', '.join(_label(task, 'worker', index)
                          for index in sorted(waiting))
        if waited >= peer_timeout:
            raise ClusterError(
                '%s: gave up after %gs (--peer_timeout): %s did not start' %
                (name, peer_timeout, names))
        log('%s: waiting for %s to start (%ds of --peer_timeout %gs)' % (
            name, names, waited, peer_timeout))
        waiting.discard(_take(session, queue_ops, PEER_REPORT_SECONDS))


def _answers(address, timeout=1.0):
    """Whether a task's gRPC server accepts a connection at `address`: a
    killed or never started task refuses it at once."""
    host, _, port = address.rpartition(':')
    try:
        socket.create_connection((host.strip('[]'), int(port)),
                                 timeout=timeout).close()
    except (OSError, ValueError):
        return False
    return True


def _label(task, job_name, index):
    address = task.cluster[job_name][index]
    if job_name == 'worker' and index == 0:
        return 'worker 0 (the chief) at %s' % address
    return '%s %d at %s' % (job_name, index, address)


def _peers(task):
    """(job, index) of the tasks this one cannot work without: every
    parameter server, and for a non-chief worker the chief."""
    peers = [('ps', index) for index in range(len(task.cluster['ps']))]
    if task.job_name == 'worker' and task.task_index != 0:
        peers.append(('worker', 0))
    return peers


def wait_for_peers(task, peer_timeout, log, name, peers=None):
    """Returns once every peer (`_peers`) answers. Meanwhile says whom it
    waits for every PEER_REPORT_SECONDS; raises ClusterError naming them
    after `peer_timeout` seconds."""
    peers = _peers(task) if peers is None else peers
    started = time.time()
    reported = None
    while True:
        missing = [_label(task, job, index) for job, index in peers
                   if not _answers(task.cluster[job][index])]
        if not missing:
            return
        waited = time.time() - started
        if waited >= peer_timeout:
            raise ClusterError(
                '%s: gave up after %gs (--peer_timeout): no answer from %s' %
                (name, peer_timeout, ', '.join(missing)))
        if reported is None or time.time() - reported >= PEER_REPORT_SECONDS:
            log('%s: waiting for %s (%ds of --peer_timeout %gs)' % (
                name, ', '.join(missing), waited, peer_timeout))
            reported = time.time()
        time.sleep(0.5)


def run_parameter_server(task, train_config, log=print,
                         peer_timeout=PEER_TIMEOUT):
    """Serves variables until every worker has said it is done, or ends
    in bounded time when they cannot: once the chief is done, a worker
    that does not answer (killed) is reported and not waited for, one that
    answers gets DONE_GRACE_SECONDS; a chief that does not answer for
    `peer_timeout` seconds before it is done ends this task with a
    ClusterError (nobody is left to finish the run)."""
    server = start_server(
        task, model_graph.session_config(train_config.compute))
    graph = tf.Graph()
    with graph.as_default():
        queue = _done_queues(task)[task.task_index]
        queue_ops = queue.size(), queue.dequeue()
    name = 'parameter server %d' % task.task_index
    log('%s serving at %s' % (name, task.cluster['ps'][task.task_index]))
    pending = set(range(num_workers(task)))
    chief_silent_since = chief_done_at = reported = None
    with tf1.Session(server.target, graph=graph) as session:
        while pending:
            worker = _take(session, queue_ops, PEER_REPORT_SECONDS)
            now = time.time()
            if worker is not None:
                pending.discard(worker)
                log('%s: worker %d is done' % (name, worker))
                if worker == 0:
                    chief_done_at = now
                continue
            if chief_done_at is None:
                if _answers(task.cluster['worker'][0]):
                    chief_silent_since = None
                    continue
                chief_silent_since = chief_silent_since or now
                if now - chief_silent_since >= peer_timeout:
                    raise ClusterError(
                        '%s: %s has not answered for %gs (--peer_timeout) '
                        'and is not done; exiting' % (
                            name, _label(task, 'worker', 0), peer_timeout))
                if reported is None or now - reported >= PEER_REPORT_SECONDS:
                    log('%s: waiting for %s, which does not answer (%ds '
                        'of --peer_timeout %gs)' % (
                            name, _label(task, 'worker', 0),
                            now - chief_silent_since, peer_timeout))
                    reported = now
                continue
            gone = sorted(index for index in pending
                          if not _answers(task.cluster['worker'][index]))
            late = now - chief_done_at >= DONE_GRACE_SECONDS
            if gone or late:
                for index in sorted(pending):
                    log('%s: %s ended without saying it is done (%s); the '
                        'chief is done' % (
                            name, _label(task, 'worker', index),
                            'killed?' if index in gone else
                            'still running after %ds' % DONE_GRACE_SECONDS))
                return


class _Stall:
    """Ends a worker whose global step stopped moving: after a step
    deadline it says which peers do not answer, and once the step has not
    moved for `peer_timeout` seconds while a peer does not answer, raises
    ClusterError naming it (a chief killed for good leaves the others
    computing gradients nobody applies)."""

    def __init__(self, task, peer_timeout, log, name):
        self._task = task
        self._peer_timeout = peer_timeout
        self._log = log
        self._name = name
        self._step = None
        self._since = time.time()

    def check(self, step, timed_out):
        now = time.time()
        if step != self._step:
            self._step, self._since = step, now
            return
        if not timed_out:
            return
        peers = _peers(self._task) + [
            ('worker', index) for index in range(num_workers(self._task))
            if index not in (0, self._task.task_index)]
        missing = [_label(self._task, job, index) for job, index in peers
                   if not _answers(self._task.cluster[job][index])]
        if not missing:
            return
        if now - self._since >= self._peer_timeout:
            raise ClusterError(
                '%s: the global step has stayed at %d for %gs '
                '(--peer_timeout); no answer from %s' % (
                    self._name, step, self._peer_timeout,
                    ', '.join(missing)))
        self._log('%s: no answer from %s; the global step is at %d' % (
            self._name, ', '.join(missing), step))


def _session_config(train_config, task):
    session_config = model_graph.session_config(train_config.compute)
    # A worker talks to the parameter servers and itself only: a peer that
    # is down does not stop it from making sessions.
    session_config.device_filters[:] = [
        '/job:ps', '/job:worker/task:%d' % task.task_index]
    return session_config


def train_worker(train_config, model_dir, train_split, task,
                 step_timeout=data_set.STEP_TIMEOUT, log=print,
                 peer_timeout=PEER_TIMEOUT):
    """Trains as worker `task.task_index` until the global step reaches
    `train_config.steps`. Worker 0, the chief, initializes or restores the
    variables and writes checkpoints and summaries to `model_dir`.

    Returns loop.TrainResult(final global step, [(global step, loss)] of
    this worker's steps).
    """
    if task.task_index == 0:
        # The chief writes the model directory: one at a time.
        with lock.exclusive(model_dir):
            return _train_worker(train_config, model_dir, train_split, task,
                                 step_timeout, log, peer_timeout)
    return _train_worker(train_config, model_dir, train_split, task,
                         step_timeout, log, peer_timeout)


def _train_worker(train_config, model_dir, train_split, task, step_timeout,
                  log, peer_timeout):
    is_chief = task.task_index == 0
    workers = num_workers(task)
    train_config = dataclasses.replace(train_config, num_workers=workers)
    model_graph.check_devices(train_config.compute)
    if is_chief:
        train_config = run_record.prepare_model_dir(model_dir, train_config,
                                                     log)
    elif train_config.seed is None:
        # Only the data order depends on it (the chief initializes).
        train_config = dataclasses.replace(train_config, seed=0)
    shard = inputs.shard(train_split, task.task_index, workers)
    batcher = inputs.Batcher(shard.images, shard.labels,
                             train_config.batch_size, train_config.seed,
                             train_config.random_shift,
                             train_config.random_rotation,
                             train_config.random_scale)
    session_config = _session_config(train_config, task)
    server = start_server(task, session_config)
    name = 'worker %d' % task.task_index
    # Its peers must answer before any session is made: a session to a
    # task that is not there waits in silence (TF's own deadline is 30 min).
    wait_for_peers(task, peer_timeout, log, name)

    def sync_replicas(optimizer, ema):
        return tf1.train.SyncReplicasOptimizer(
            optimizer, replicas_to_aggregate=workers,
            total_num_replicas=workers, variable_averages=ema,
            variables_to_average=tf1.trainable_variables())

    device_function = tf1.train.replica_device_setter(
        cluster=tf.train.ClusterSpec(task.cluster),
        worker_device='/job:worker/task:%d' % task.task_index)
    train_graph = train_op.build_train_graph(
        train_config, sync_replicas=sync_replicas,
        device_function=device_function)
    with train_graph.graph.as_default():
        done = [queue.enqueue(task.task_index)
                for queue in _done_queues(task)]
        start_queue = _start_queue(task)
        ready, next_ready = (start_queue.enqueue(task.task_index),
                             (start_queue.size(), start_queue.dequeue()))
    hook = SyncReplicasHook(train_graph.optimizer, is_chief)
    scaffold = tf1.train.Scaffold(saver=train_graph.saver)
    if is_chief:
        checkpoint = checkpoints.latest_checkpoint(model_dir)
        if checkpoint:
            checkpoints.check_variables(checkpoint, {
                variable.op.name: variable for variable in
                train_graph.graph.get_collection('variables')},
                'the variables of the network being trained')
        creator = ChiefSessionCreator(scaffold, server.target,
                                      session_config, model_dir, log)
    else:
        creator = WorkerSessionCreator(scaffold, server.target,
                                        session_config, peer_timeout)
    # A session made again after a peer died (MonitoredSession does so)
    # waits for the peers first, in bounded time.
    creator.before_session = lambda: wait_for_peers(task, peer_timeout,
                                                    log, name)

    def save(step_context):
        # The raw session: a save is not a training step, hooks stay out.
        loop.save_if_sane(step_context.session, train_graph,
                          train_config, model_dir, step, name)

    run_options = tf1.RunOptions(timeout_in_ms=int(step_timeout * 1000))
    # Step 1 is every worker's first run, which also sets its graph up
    # (seconds on a busy machine): past the start barrier every worker is
    # up, so it gets the long deadline a session's start gets, and the
    # first rounds hold one gradient per worker however slow the set-up.
    first_run_options = tf1.RunOptions(
        timeout_in_ms=int(max(step_timeout, FIRST_STEP_TIMEOUT) * 1000))
    writer = (summaries.ScalarWriter(summaries.train_dir(model_dir),
                                     train_graph.graph)
              if is_chief else None)
    # MonitoredSession builds its hooks' ops in the default graph.
    with train_graph.graph.as_default(), tf1.train.MonitoredSession(
            session_creator=creator, hooks=[hook]) as session:
        step = int(session.run(train_graph.global_step))
        if is_chief:
            run_record.record_config(model_dir, train_config, step)
        log('%s: starting at step %d' % (name, step))
        train_graph.inputs.start(session, batcher, step)
        if step == 0 and is_chief:
            _wait_for_workers(session, next_ready, task, log, name,
                              peer_timeout)
        progress = loop.Progress(train_config, model_dir, step, log,
                                 writer, name, is_chief)
        batch_index, saved_step = step, step
        stalled = _Stall(task, peer_timeout, log, name)
        while step < train_config.steps:
            if step == 0 and not is_chief:
                # Before every attempt at step 1: a chief restarted before
                # its first checkpoint waits for this worker again.
                session.run(ready)
            try:
                _, *values = session.run(
                    [train_graph.train_op] +
                    progress.fetches(train_graph),
                    feed_dict=train_graph.inputs.feed_dict(batch_index),
                    options=first_run_options if step == 0 else run_options)
            except tf.errors.DeadlineExceededError:
                values = None
                log('%s: no global step within %gs (a peer is late or '
                    'gone); computing another gradient' % (name, step_timeout))
            batch_index += 1
            # Read, not counted: the other workers move it too. With the
            # step's deadline: it lives on a parameter server, which may
            # be gone (a read without one would wait for good).
            try:
                step = int(session.run(train_graph.global_step,
                                       options=run_options))
            except tf.errors.DeadlineExceededError:
                values = None
            stalled.check(step, values is None)
            if values:
                progress.report(step, *values)
            if is_chief and (step // train_config.save_every >
                             saved_step // train_config.save_every or
                             step >= train_config.steps):
                session.run_step_fn(save)
                saved_step = step
    if writer:
        writer.close()
    # The parameter servers may exit once every worker is here: after the
    # chief's last checkpoint, outside the monitored session (whose queue
    # runners still talk to them until it closes).
    with tf1.Session(server.target, graph=train_graph.graph,
                     config=session_config) as session:
        try:
            session.run(done, options=tf1.RunOptions(
                timeout_in_ms=int(peer_timeout * 1000)))
        except (tf.errors.DeadlineExceededError,
                tf.errors.UnavailableError):
            raise ClusterError(
                '%s: trained to step %d, but the parameter servers did not '
                'take its "done" within %gs (--peer_timeout)' % (
                    name, step, peer_timeout)) from None
    log('%s: done at step %d' % (name, step))
    return loop.TrainResult(step, progress.losses)
