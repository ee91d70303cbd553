"""FPGA conversion path: (trained Keras/QKeras model, design point) -> hls4ml model -> C simulation.

* :mod:`dse.hls.design` -- :class:`HLSDesign`, the design point.
* :mod:`dse.hls.convert` -- :func:`to_hls_config`, :func:`convert`.
* :mod:`dse.hls.workarounds` -- registered fixes for hls4ml 1.3.0 / QKeras 0.9.0 defects.
* :mod:`dse.hls.cache` -- :func:`compile_model`: compiled projects cached by content hash.
* :mod:`dse.hls.csim` -- :func:`run_csim`: the C simulation, outputs by name.
* :mod:`dse.hls.csim_cache` -- C-simulation outputs shared by numerically identical designs.

TensorFlow and hls4ml are imported only when a function needs them.
"""

from dse.hls.cache import CompiledModel, HLSCompileError, compile_model, default_cache_dir, lookup
from dse.hls.convert import convert, effective_reuse_factors, matmul_sizes, to_hls_config, valid_reuse_factors
from dse.hls.csim import CSimOutput, run_csim
from dse.hls.design import HLSDesign, parse_precision
from dse.hls.errors import DesignError, UnsupportedModelError

__all__ = [
    "CSimOutput",
    "CompiledModel",
    "DesignError",
    "HLSCompileError",
    "HLSDesign",
    "UnsupportedModelError",
    "compile_model",
    "convert",
    "default_cache_dir",
    "effective_reuse_factors",
    "lookup",
    "matmul_sizes",
    "parse_precision",
    "run_csim",
    "to_hls_config",
    "valid_reuse_factors",
]
