"""What the generator derives from a network for one layer entity: sizes, widths and the datapath sharing."""

from __future__ import annotations

from dataclasses import dataclass

from dse.families.snn.hdl.common import addr_bits, sbin
from dse.families.snn.network import QuantizedSNN, SNNLayer


@dataclass(frozen=True)
class LayerPlan:
    """One layer's generation parameters.

    units: neuron datapaths; groups: neurons each datapath serves in turn (1: one datapath per neuron).
    Neuron n = g * units + u is served by datapath u in group g; the weight memory holds, at address
    g * fan + i, the weights of input row i to the neurons of group g (one read feeds every datapath).
    """

    li: int
    layer: SNNLayer
    mb: int  # membrane bits
    wb: int  # weight bits
    vb: int  # input value bits (layer 0: input_bits; layers > 0: one spike bit)
    event: bool
    units: int
    groups: int

    @classmethod
    def of(cls, net: QuantizedSNN, li: int) -> LayerPlan:
        return cls(li=li, layer=net.layers[li], mb=net.membrane_bits, wb=net.weight_bits,
                   vb=net.input_bits if li == 0 else 1, event=net.scan == "event", units=net.units[li],
                   groups=net.groups[li])

    @property
    def name(self) -> str:
        return f"snn_layer{self.li}"

    @property
    def first(self) -> bool:
        return self.li == 0

    @property
    def shared(self) -> bool:
        """Datapaths serve several neurons each (membranes in memories, one group per clock)."""
        return self.groups > 1

    @property
    def n_in(self) -> int:
        return self.layer.n_in

    @property
    def n_out(self) -> int:
        return self.layer.n_out

    @property
    def fan(self) -> int:
        return self.layer.fan_in

    @property
    def rec(self) -> bool:
        return self.layer.recurrent

    @property
    def readout(self) -> bool:
        return self.layer.neuron == "readout"

    @property
    def lif2(self) -> bool:
        return self.layer.neuron == "LIF2"

    @property
    def rom_depth(self) -> int:
        return self.fan * self.groups

    @property
    def word(self) -> int:
        """Bits of one weight-memory word: one weight per datapath."""
        return (self.n_out if not self.shared else self.units) * self.wb

    @property
    def aw(self) -> int:
        """Weight-memory address width."""
        return addr_bits(self.rom_depth)

    @property
    def fan_bits(self) -> int:
        """Width of a row index within one group."""
        return addr_bits(self.fan)

    @property
    def iw(self) -> int:
        """in_index width (layer 0)."""
        return addr_bits(self.n_in)

    @property
    def gw(self) -> int:
        """Group counter width."""
        return addr_bits(self.groups)

    @property
    def pw(self) -> int:
        """Width of the latched scan vector: layer 0 its own spikes (recurrent), layers > 0 own & inputs."""
        return (self.n_out if self.rec else 0) if self.first else self.fan

    @property
    def cw(self) -> int:
        return addr_bits(self.n_out if self.first else self.fan)

    def rom_rows(self) -> list[str]:
        """The weight memory's words in address order, each written MSB (last datapath) first."""
        w = self.layer.all_weights()
        if not self.shared:
            # neuron j occupies bits (j+1)*wb-1 downto j*wb
            return ["".join(sbin(int(w[i, j]), self.wb) for j in reversed(range(w.shape[1])))
                    for i in range(w.shape[0])]
        rows = []
        for g in range(self.groups):
            cols = [g * self.units + u for u in range(self.units)]
            for i in range(w.shape[0]):
                rows.append("".join(sbin(int(w[i, j]) if j < self.n_out else 0, self.wb) for j in reversed(cols)))
        return rows
