"""Train a tiny model and SIGKILL this process in the middle of writing checkpoint ``die_at_step``.

The data and index of that checkpoint are written, then the process dies before the ``checkpoint``
state file is updated: the exact moment a crash would leave a half-finished save behind.
"""
import os
import signal
import sys

import tensorflow as tf

from facenet_vae.training import run_folder
from facenet_vae.training import TrainConfig, train

die_at_step = int(sys.argv[2])
original_save = run_folder.TrainingCheckpoints.save


def save_then_die(self, step):
    if step == die_at_step:
        # Write the checkpoint files as the manager would, but never reach the state-file update.
        self.checkpoint.write(os.path.join(self.directory, f"ckpt-{step}"))
        os.kill(os.getpid(), signal.SIGKILL)
    return original_save(self, step)


run_folder.TrainingCheckpoints.save = save_then_die
tf.get_logger().setLevel("ERROR")
train(TrainConfig(vae_def="dfc_vae", latent_var_size=8, reconstruction_loss_type="PLAIN", batch_size=8,
                  num_synthetic=64, max_nrof_steps=10, save_every_n_steps=1, verbose=0, export_saved_model=False,
                  run_name="crash", models_base_dir=sys.argv[1]))
