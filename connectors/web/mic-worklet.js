// Oratio Voice microphone capture: collects the mic's 128-frame render quanta into blocks of
// `processorOptions.frames` samples (~20 ms) and posts each block (Float32, mono) to the main
// thread, which converts it to PCM16 and sends it over the call's WebSocket.
class OratioMicProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frames = (options.processorOptions && options.processorOptions.frames) || 960;
    this.block = new Float32Array(this.frames);
    this.filled = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      const left = input[0];
      const right = input.length > 1 ? input[1] : null;
      for (let i = 0; i < left.length; i++) {
        this.block[this.filled++] = right ? (left[i] + right[i]) * 0.5 : left[i];
        if (this.filled === this.frames) {
          this.port.postMessage(this.block, [this.block.buffer]);
          this.block = new Float32Array(this.frames);
          this.filled = 0;
        }
      }
    }
    return true; // keep capturing until the node is disconnected
  }
}

registerProcessor("oratio-mic", OratioMicProcessor);
