module example.com/shop/users

go 1.19
