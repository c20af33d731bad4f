"""Progress of an evaluation on stdout: one line per stage, and a ``keras.utils.Progbar`` over images."""
import sys

import keras
import numpy as np


class Progress:
    """Prints ``<tool>: <stage>`` lines and runs batched work under a Progbar; silent when ``enabled`` is False."""

    def __init__(self, enabled=True, tool="facenet-vae-evaluate"):
        self.enabled = enabled
        self.tool = tool

    def stage(self, message):
        """Print one line saying what the run does now."""
        if self.enabled:
            print(f"{self.tool}: {message}", flush=True)

    def map_batches(self, function, items, batch_size, message):
        """Return ``function`` applied to ``items`` in batches, outputs concatenated; shows a Progbar over the items.

        ``function`` returns an array or a tuple of arrays (concatenated position by position).
        """
        self.stage(message)
        # Updated line by line on a terminal; one summary line when stdout is a file or a pipe.
        bar = keras.utils.Progbar(len(items), verbose=1 if sys.stdout.isatty() else 2, unit_name="image") \
            if self.enabled and len(items) else None
        outputs = []
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            outputs.append(function(batch))
            if bar is not None:
                bar.add(len(batch))
        if not outputs:
            return function(items[:0])
        if isinstance(outputs[0], tuple):
            return tuple(np.concatenate(parts) for parts in zip(*outputs))
        return np.concatenate(outputs)
