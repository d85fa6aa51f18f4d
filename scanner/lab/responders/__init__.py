"""One module per protocol the lab speaks; :mod:`scanner.lab.responder` wires them up."""
