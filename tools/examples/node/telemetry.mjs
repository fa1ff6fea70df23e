// Imported first by each example, before onnxruntime-node loads: onnxruntime's official builds send usage events
// to Microsoft and keep a device id under ~/.cache, which this turns off (as importing ssvae.runtime does in
// Python) unless the environment already sets ORT_DISABLE_TELEMETRY.
process.env.ORT_DISABLE_TELEMETRY ??= "1";
