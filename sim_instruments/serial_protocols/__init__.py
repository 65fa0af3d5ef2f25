"""pyserial URL handlers of the simulator (``serial.protocol_handler_packages``)."""
