"""What every comment command needs around it: who may run it, and how it is answered."""
