"""PyTorch float64 autodiff of the dense LSTM the T-BPTT and dense-LSTM RTRL learners share."""
import numpy as np


def torch_lstm_output_and_gradient(torch, parameters: dict, xs, t: int, truncation: int | None = None):
    """(y_t, dy_t/dtheta) of ``nn.LSTMCell`` with the learner's ``parameters()`` (W, U, b, w),
    unrolled over ``xs[0..t]`` from h = c = 0; with ``truncation`` k the state k steps back is
    detached (held constant). The gradient is flat, in the learners' layout (W, U, b, w)."""
    W, U, b, w = (parameters[name] for name in ("W", "U", "b", "w"))
    d, n = U.shape[1], W.shape[1]
    cell = torch.nn.LSTMCell(n, d).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(W))
        cell.weight_hh.copy_(torch.from_numpy(U))
        cell.bias_ih.copy_(torch.from_numpy(b))
        cell.bias_hh.zero_()
    w = torch.tensor(w, requires_grad=True)
    x = torch.from_numpy(np.asarray(xs, dtype=np.float64))
    h = c = torch.zeros(1, d, dtype=torch.float64)
    for s in range(t + 1):
        if truncation is not None and s == t - truncation + 1:
            h, c = h.detach(), c.detach()
        h, c = cell(x[s:s + 1], (h, c))
    y = (h[0] * w).sum()
    grads = torch.autograd.grad(y, [cell.weight_ih, cell.weight_hh, cell.bias_ih, w])
    return y.item(), np.concatenate([g.numpy().ravel() for g in grads])
