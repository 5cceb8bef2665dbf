from pulse_gateway.app import main

main()
