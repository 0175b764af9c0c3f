"""The training step replayed as one CUDA graph (``RunSettings(cuda_graph=True)``, ``--cuda-graph``).

On a GPU a step of the kit is small kernels launched one by one from Python: the 25-model step
of the main job is ~200 GFLOP, a fraction of a millisecond on an H100/H200-class GPU, but costs
4-5 ms of launches (docs/performance.md, ``results/gpu_h200``). A CUDA graph records the
kernels of one step once and replays them with one launch.

What a graph needs, and how the step provides it:

* **Fixed addresses.** Every tensor the recorded kernels read or write must stay where it was
  at capture. The step's only input that changes is the batch: each step the host draws it
  (:meth:`cbmil.train.Trainer.draw`, CPU generators, as in eager training) and copies its row
  indices and classes ``[S, 3B]`` into one fixed device buffer, :attr:`GraphedStep.batch`;
  the gather, masks, forward, loss, backward and update are recorded. Parameters and optimiser
  state are updated in place. The copy goes through two pinned host buffers used in turn, so it
  does not wait for the GPU: the host draws step k + 1 while the GPU runs step k.
* **No host synchronisation inside.** torch's Adagrad reads its step count on the host, so it
  cannot be recorded; :func:`adagrad_update` is the same update written with tensor operations
  only (with ``lr_decay = 0``, the only setting the kit uses, the step count does not enter the
  update). It updates the parameters and the optimiser's own ``sum`` tensors, so checkpoints are
  those of eager training.
* **Random numbers drawn in the graph.** The dropout masks come from each seed's CUDA
  generator; each is registered with the graph, so that replay *k* draws from the generator's
  state after *k* steps, as eager step *k* would.
* **Warm-up.** Capture needs a few eager runs first (on a side stream) so that lazily created
  resources exist; they change weights, optimiser state and generators, so all three are saved
  before and restored after.

``GraphedStep(trainer, capture=False)`` runs the same static-buffer step eagerly, on any
device: that is how ``make test`` checks on the CPU that it is the reference step (same scores
after 20 steps within float tolerance). The recording itself can only run on a CUDA device
(``tests/test_gpu.py``, ``benchmarks/gpu_check.sh``); as written it has not yet run on one.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def adagrad_update(optimizer: torch.optim.Adagrad, grads: dict[torch.Tensor, torch.Tensor]) -> None:
    """One Adagrad step of ``optimizer``'s parameters with ``grads`` (parameter -> gradient),
    in place, with no host synchronisation (so it can be recorded in a CUDA graph).

    For each parameter ``p`` with gradient ``g``, group settings ``lr``, ``eps``, ``weight_decay``:
    ``g += weight_decay * p``; ``sum += g * g``; ``p -= lr * g / (sqrt(sum) + eps)`` — torch's
    Adagrad with ``lr_decay = 0`` and ``maximize = False``. The step counts in the optimiser's
    state are not touched (the caller advances them on the host).
    """
    for group in optimizer.param_groups:
        if group.get("lr_decay", 0) or group.get("maximize", False):
            raise ValueError("adagrad_update implements Adagrad with lr_decay=0 and maximize=False; "
                             f"got lr_decay={group.get('lr_decay')}, maximize={group.get('maximize')}")
        lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
        for p in group["params"]:
            g = grads[p]
            if decay:
                g = g.add(p, alpha=decay)
            total = optimizer.state[p]["sum"]
            total.addcmul_(g, g, value=1)
            p.addcdiv_(g, total.sqrt().add_(eps), value=-lr)


class GraphedStep:
    """One training step of ``trainer`` (a :class:`cbmil.train.Trainer`) with fixed buffers,
    recorded as a CUDA graph (``capture=True``, CUDA only) or run eagerly (``capture=False``).

    ``step()`` draws the batch on the host, copies it into :attr:`batch` ``[S, 3B]`` and runs
    the step; it returns the per-model losses ``[M]`` (a copy). Only Adagrad is supported (the
    paper's optimiser). The trainer's parameters, optimiser state and mask generators must not
    be replaced while this object is in use (:meth:`cbmil.train.Trainer.load_state_dict` drops
    it so that the next step records afresh).
    """

    def __init__(self, trainer, capture: bool = True, warmup: int = 3):
        if not isinstance(trainer.optimizer, torch.optim.Adagrad):
            raise ValueError(f"the graphed step implements Adagrad only; this trainer uses "
                             f"{type(trainer.optimizer).__name__} (TrainConfig.optimizer={trainer.config.optimizer!r})")
        if capture and trainer.device.type != "cuda":
            raise ValueError(f"a CUDA graph needs a CUDA device; this trainer trains on {trainer.device.type!r} "
                             "(TrainConfig.cuda_graph=True needs device 'cuda')")
        self.trainer = trainer
        b = trainer.config.batch_size
        self.batch = torch.zeros((len(trainer.seeds), 3 * b), dtype=torch.int64, device=trainer.device)
        self.params = [p for group in trainer.optimizer.param_groups for p in group["params"]]
        self.losses: torch.Tensor | None = None
        self.graph = None
        if capture:
            # pinned host buffers for the batch, used in turn; an event per buffer marks when the
            # copy that last read it has run, so the host never overwrites a batch still in flight
            self._staging = [torch.empty(self.batch.shape, dtype=torch.int64, pin_memory=True) for _ in range(2)]
            self._copied = [torch.cuda.Event() for _ in range(2)]
            self._turn = 0
            self._record(warmup)

    def _body(self) -> torch.Tensor:
        """The recorded step: gather, masks, scores, loss, gradients, Adagrad; the losses ``[M]``."""
        tr = self.trainer
        x, classes = tr.gather(self.batch)
        loss = tr.loss(tr.scores(x, tr.masks(x.shape[1])), classes)
        grads = torch.autograd.grad(loss.sum(), self.params)  # new tensors: no .grad to zero or keep
        adagrad_update(tr.optimizer, dict(zip(self.params, grads)))
        return loss.detach()

    def _snapshot(self) -> tuple[list, list, list]:
        tr = self.trainer
        return ([p.detach().clone() for p in self.params],
                [tr.optimizer.state[p]["sum"].clone() for p in self.params],
                [g.get_state() for g in tr.mask_rng])

    def _restore(self, saved) -> None:
        params, sums, rng = saved
        with torch.no_grad():
            for p, a, s in zip(self.params, params, sums):
                p.copy_(a)
                self.trainer.optimizer.state[p]["sum"].copy_(s)
        for g, state in zip(self.trainer.mask_rng, rng):
            g.set_state(state)

    def _peek_batch(self) -> None:
        """Copy the trainer's next batch into :attr:`batch` without drawing it: every host stream
        :meth:`cbmil.train.Trainer.draw` reads (``batch_rng``, and ``balance_rng`` of a
        class-balanced draw) is put back to its state before, so the first real step draws it again."""
        tr = self.trainer
        streams = list(tr.batch_rng) + list(getattr(tr, "balance_rng", None) or ())
        host = [g.get_state() for g in streams]
        self.batch.copy_(tr.draw())
        for g, state in zip(streams, host):
            g.set_state(state)

    def _record(self, warmup: int) -> None:
        tr = self.trainer
        saved = self._snapshot()
        self._peek_batch()  # a real batch for the warm-up, then undrawn
        graph = torch.cuda.CUDAGraph()
        for g in tr.mask_rng:  # before any capture: replay k draws what eager step k would
            graph.register_generator_state(g)
        side = torch.cuda.Stream(tr.device)
        side.wait_stream(torch.cuda.current_stream(tr.device))
        with torch.cuda.stream(side):
            for _ in range(warmup):
                self._body()
        torch.cuda.current_stream(tr.device).wait_stream(side)
        torch.cuda.synchronize(tr.device)
        self._restore(saved)
        with torch.cuda.graph(graph, stream=side):  # recorded on the stream the warm-up ran on
            self.losses = self._body()
        torch.cuda.synchronize(tr.device)
        self._restore(saved)  # capture records kernels without running them; restore regardless
        self.graph = graph

    def step(self) -> torch.Tensor:
        tr = self.trainer
        if self.graph is not None:
            staging, copied = self._staging[self._turn], self._copied[self._turn]
            self._turn ^= 1
            copied.synchronize()  # the copy out of this buffer two steps ago has run
            staging.copy_(tr.draw())
            self.batch.copy_(staging, non_blocking=True)  # in stream order: after the previous replay
            copied.record()
            self.graph.replay()
            losses = self.losses.clone()
        else:
            self.batch.copy_(tr.draw())
            losses = self._body()
        for p in self.params:  # torch's Adagrad counts steps on the host; keep its state_dict true
            tr.optimizer.state[p]["step"] += 1
        return losses


__all__ = ["GraphedStep", "adagrad_update"]
