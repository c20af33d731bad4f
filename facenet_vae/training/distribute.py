"""tf.distribute strategies for training: one device, several GPUs, several hosts, TPUs.

``--batch_size`` is always the global batch; the loss terms are written so that a step on N
replicas equals a step on one device with the same global batch (see ``facenet_vae.training.losses``).
"""
import json
import os
import shutil

import tensorflow as tf

from facenet_vae.training.choices import STRATEGIES


def configure_cpu_replicas(count):
    """Split the first CPU into ``count`` logical devices (before TF starts); returns their names.

    Lets the multi-replica path run on a machine without GPUs. Must run before any op executes.
    """
    if not count or count <= 1:
        return []
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError as error:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) != count:
            raise RuntimeError(f"--cpu_replicas={count} must be set before TensorFlow starts "
                               f"(it already runs with {len(existing)} CPU devices)") from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def make_strategy(name="default", cpu_replicas=0):
    """Return the tf.distribute strategy called ``name`` (see STRATEGIES)."""
    if name not in STRATEGIES:
        raise ValueError(f"--strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                             "(cluster and task of this worker); see the README")
        # Workers build their CPU devices before the collective runtime starts.
        configure_cpu_replicas(cpu_replicas)
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = configure_cpu_replicas(cpu_replicas)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.MirroredStrategy(devices or None)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def task_of(strategy):
    """Return ``(task_type, task_id)`` of this process (``(None, None)`` on a single host)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """Return True for the process that writes summaries, images and model files."""
    task_type, task_id = task_of(strategy)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def worker_folder(run_dir, strategy):
    """Return where this process writes: the run folder for the chief, a temp folder for workers.

    TensorFlow's multi-worker guide: every worker must take part in saving (the save runs
    collective ops), but only the chief's copy is kept.
    """
    if is_chief(strategy):
        return run_dir
    task_type, task_id = task_of(strategy)
    return os.path.join(run_dir, f".worker-{task_type}-{task_id}")


def remove_worker_folder(path, run_dir):
    """Delete a worker's temp folder (never the run folder itself)."""
    if os.path.abspath(path) != os.path.abspath(run_dir):
        shutil.rmtree(path, ignore_errors=True)


def describe(strategy):
    """Return e.g. ``MirroredStrategy, 2 replicas`` for the log."""
    replicas = strategy.num_replicas_in_sync
    return f"{type(strategy).__name__}, {replicas} replica{'s' if replicas != 1 else ''} in sync"
