"""optim.fista: the trajectory against FistaLS.lua written out here, the lasso optimality conditions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ember import optim


class Lasso:
    """f(x) = ||A x - b||² / 2, g(x) = lam ||x||₁, the proximal step a soft shrinkage by lam / L."""

    def __init__(self, m=20, n=8, lam=0.5, seed=0):
        rng = np.random.default_rng(seed)
        self.A, self.b, self.lam = rng.standard_normal((m, n)), rng.standard_normal(m), lam

    def f(self, x, mode=None):
        r = self.A @ x - self.b
        value = 0.5 * r.dot(r)
        return (value, self.A.T @ r) if mode == "dx" else value

    def g(self, x):
        return self.lam * np.abs(x).sum()

    def pl(self, z, L):
        z[...] = np.sign(z) * np.maximum(np.abs(z) - self.lam / L, 0.0)


def lua_fista_reference(p, n, L=0.1, Lstep=1.5, maxiter=50, maxline=20, errthres=1e-4, fista=True):
    """FistaLS.lua written out, returning the per-iteration F values and the final y."""
    xkm, y, xk = np.zeros(n), np.zeros(n), np.zeros(n)
    tk, history = 1.0, []
    while True:
        fy, gfy = p.f(y, "dx")
        nline = 0
        while True:
            ply = y - gfy / L
            p.pl(ply, L)
            xk = ply.copy()
            fply = p.f(ply)
            d = ply - y
            Q = fy + gfy.dot(d) + L / 2 * d.dot(d)
            if fply <= Q:
                nline += 1
                break
            if nline >= maxline:
                xk = xkm.copy()
                nline += 1
                break
            L *= Lstep
            nline += 1
        if fista:
            tkp = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
            y = xk + (1 - tk) / tkp * (xkm - xk)
            xkm = xk.copy()
            tk = tkp
        else:
            y = xk.copy()
        history.append(p.f(y) + p.g(y))
        if (len(history) > 1 and abs(history[-1] - history[-2]) <= errthres) or len(history) >= maxiter:
            return history, y


@pytest.mark.parametrize("fista", [True, False])
def test_trajectory_follows_torch_lua(fista):
    p = Lasso()
    x = np.full(8, 7.0)  # not used: FISTA starts from zero, as Torch's
    state = {"max_iter": 40, "err_thres": 1e-12, "do_fista_update": fista}
    result, history = optim.fista(p.f, p.g, p.pl, x, state)
    expected, y = lua_fista_reference(p, 8, maxiter=40, errthres=1e-12, fista=fista)
    assert result is x
    np.testing.assert_allclose([h["F"] for h in history], expected, rtol=1e-12)
    np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
    assert state["lipschitz"] == history[-1]["L"] > 0.1
    assert all(h["F"] == pytest.approx(h["Fply"] + h["Gply"]) for h in history)


def test_solution_satisfies_the_lasso_optimality_conditions():
    p = Lasso()
    x = np.zeros(8)
    optim.fista(p.f, p.g, p.pl, x, {"max_iter": 3000, "err_thres": 1e-15})
    grad = p.A.T @ (p.A @ x - p.b)
    active = x != 0
    np.testing.assert_allclose(grad[active], -p.lam * np.sign(x[active]), atol=1e-5)
    assert np.all(np.abs(grad[~active]) <= p.lam + 1e-5)


def test_bad_configuration_is_named():
    p = Lasso()
    with pytest.raises(ValueError, match="optim.fista: expected lipschitz > 0"):
        optim.fista(p.f, p.g, p.pl, np.zeros(8), {"lipschitz": 0.0})
