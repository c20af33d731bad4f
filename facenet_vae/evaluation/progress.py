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

    def _bar(self, total, unit_name):
        """Return a Progbar over ``total`` items, or None when silent or empty."""
        if not self.enabled or not total:
            return None
        # Redrawn in place on a terminal; one summary line when stdout is a file or a pipe.
        return keras.utils.Progbar(total, verbose=1 if sys.stdout.isatty() else 2, unit_name=unit_name)

    def counter(self, total, message, unit_name):
        """Print ``message``; return a function that advances a Progbar over ``total`` items by one."""
        self.stage(message)
        bar = self._bar(total, unit_name)

        def advance():
            if bar is not None:
                bar.add(1)
        return advance

    def map_batches(self, function, items, batch_size, message):
        """Return ``function`` applied to ``items`` in batches, outputs concatenated; shows a Progbar over the items.

        ``function`` returns an array or a tuple of arrays (concatenated position by position).
        """
        self.stage(message)
        bar = self._bar(len(items), "image")
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
