"""The demo's labelled attack scenarios, one family per module; each knows which detections it
must raise (see ``pipeline.demo.manifest``)."""
