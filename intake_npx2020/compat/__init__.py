"""Bridges to other APIs over specs and spike arrays: spikeinterface (extra ``[spikeinterface]``), spikeextractors
(``[spikeextractors]``), probeinterface probes, and the 2020 package's recording/sorting objects."""
