print("parent app")
