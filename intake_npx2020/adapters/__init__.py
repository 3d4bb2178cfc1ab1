"""Optional bridges to other APIs: spikeinterface (extra ``[spikeinterface]``), spikeextractors (``[spikeextractors]``)."""
